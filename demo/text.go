package demo

import (
	"fmt"
	"math/rand/v2"
)

// Vocabulary the agents draw on. The texts vary enough that full-text search
// over inputs, outputs and errors finds different runs for different words.

var firstNames = []string{
	"Alice", "Bruno", "Chen", "Dana", "Emeka", "Fatima", "Giulia", "Hiro", "Ingrid", "Jamal",
	"Katarzyna", "Luis", "Maya", "Noah", "Olga", "Priya", "Quentin", "Rosa", "Sven", "Tomás",
	"Uma", "Viktor", "Wen", "Yusuf", "Zoe",
}

var lastNames = []string{
	"Andersson", "Becker", "Costa", "Dubois", "Evans", "Fischer", "García", "Hansen", "Ito", "Jensen",
	"Kowalski", "Li", "Müller", "Nakamura", "O'Brien", "Patel", "Rossi", "Schmidt", "Tanaka", "Novak",
}

var products = []string{
	"wireless headphones", "standing desk", "espresso machine", "running shoes", "4K monitor",
	"mechanical keyboard", "air purifier", "backpack", "smart watch", "office chair",
}

// ticket is a customer-support scenario: what the customer writes, which
// tools the bot needs and how it answers.
type ticket struct {
	topic   string
	text    string // with %s for product and %s for order id
	refund  bool   // needs refund_order
	kbQuery string
	answer  string // with %s for name
}

var tickets = []ticket{
	{"refund", "Hi, my %s arrived broken. Order %s. I want a refund please.", true, "refund policy damaged item",
		"Hi %s, I'm sorry the item arrived damaged. I've issued a full refund to your original payment method; it should appear within 3-5 business days."},
	{"refund", "I returned the %s two weeks ago (order %s) and still have no refund. What's going on?", true, "refund processing time return received",
		"Hi %s, your return was received and the refund has now been processed. Expect it on your statement within 5 business days."},
	{"shipping", "Where is my %s? Order %s was supposed to arrive on Monday.", false, "delayed shipment tracking",
		"Hi %s, your package is with the carrier and the updated delivery estimate is Thursday. You can follow it with the tracking link in your account."},
	{"shipping", "The tracking for order %[2]s hasn't updated in 5 days. Is my %[1]s lost?", false, "lost package investigation",
		"Hi %s, I've opened an investigation with the carrier. If the parcel isn't located within 48 hours we will ship a replacement at no cost."},
	{"billing", "I was charged twice for the %s, order %s. Please fix this.", true, "duplicate charge billing",
		"Hi %s, I can confirm the duplicate charge. The second payment has been refunded and you'll see it reversed in 3-5 business days."},
	{"account", "I can't log in to my account, password reset email never arrives. My last order was %[2]s (%[1]s).", false, "password reset email not received",
		"Hi %s, I've re-sent the password reset link and whitelisted your address. Please check your spam folder if it doesn't arrive within 10 minutes."},
	{"warranty", "My %s stopped working after 8 months. Order %s. Is it covered by warranty?", false, "warranty coverage period",
		"Hi %s, good news: your item is covered by our 2-year warranty. I've created a replacement request; a prepaid return label is in your inbox."},
	{"cancel", "Please cancel order %[2]s, I ordered the wrong %[1]s.", true, "cancel order before shipment",
		"Hi %s, your order has been cancelled before shipment and the payment refunded in full."},
}

var kbArticles = []string{
	"KB-101 Refund policy: damaged items are refunded in full within 30 days of delivery.",
	"KB-114 Returns are processed within 5 business days of arrival at the warehouse.",
	"KB-202 Delayed shipments: carriers may take up to 3 extra days during peak season.",
	"KB-207 Lost packages: open a carrier investigation after 5 days without tracking updates.",
	"KB-310 Duplicate charges are refunded automatically after verification.",
	"KB-415 Password reset emails can be delayed by spam filters; resend after 10 minutes.",
	"KB-502 All electronics carry a 2-year limited warranty.",
	"KB-601 Orders can be cancelled free of charge until they ship.",
}

var researchQuestions = []string{
	"What are the main differences between retrieval-augmented generation and fine-tuning for domain adaptation?",
	"Summarize recent findings on the energy consumption of training large language models.",
	"How do central banks in the EU and the US differ in their approach to stablecoin regulation?",
	"Compare lithium iron phosphate and NMC batteries for grid storage.",
	"What is the current evidence on four-day work weeks and productivity?",
	"Explain the tradeoffs between Raft and Paxos for consensus in distributed databases.",
	"What are best practices for handling API rate limits in high-throughput clients?",
	"Summarize the state of carbon capture technology and its cost per tonne.",
	"How does the EU AI Act classify high-risk AI systems?",
	"What are the known causes of timeout errors in serverless cold starts?",
}

var researchSources = []string{
	"https://arxiv.org/abs/2312.10997", "https://en.wikipedia.org/wiki/Retrieval-augmented_generation",
	"https://www.iea.org/reports/electricity-2024", "https://www.ecb.europa.eu/press/pr/html/index.en.html",
	"https://www.nature.com/articles/s41560-023-01252-5", "https://raft.github.io/",
	"https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html",
	"https://www.ipcc.ch/report/ar6/wg3/", "https://artificialintelligenceact.eu/high-level-summary/",
	"https://cloud.google.com/architecture/rate-limiting-strategies-techniques",
}

// sqlQuestion is an analytics question with the SQL the model writes for it.
type sqlQuestion struct {
	question string
	sql      string
	badSQL   string // what the model writes when it gets it wrong
	columns  []string
}

var sqlQuestions = []sqlQuestion{
	{"What was our revenue by month for the last 6 months?",
		"SELECT date_trunc('month', created_at) AS month, sum(amount) AS revenue FROM orders WHERE created_at > now() - interval '6 months' GROUP BY 1 ORDER BY 1",
		"SELECT date_trunc('month', created_at) AS month, sum(amount) AS revenue FROM orders WHERE created_at > now() - interval '6 months' GROUP 1 ORDER BY 1",
		[]string{"month", "revenue"}},
	{"Which 10 customers spent the most this year?",
		"SELECT c.name, sum(o.amount) AS total FROM customers c JOIN orders o ON o.customer_id = c.id WHERE o.created_at >= date_trunc('year', now()) GROUP BY c.name ORDER BY total DESC LIMIT 10",
		"SELECT c.name, sum(o.amount) AS total FROM customers c JOIN orders o ON o.customer_id = c.id WHERE o.created_at >= date_trunc('year', now()) GROUP BY c.name ORDER BY total DESC LIMIT 10,",
		[]string{"name", "total"}},
	{"How many refunds were issued per week in Q3?",
		"SELECT date_trunc('week', issued_at) AS week, count(*) AS refunds FROM refunds WHERE issued_at BETWEEN '2024-07-01' AND '2024-09-30' GROUP BY 1 ORDER BY 1",
		"SELECT date_trunc('week', issued_at) AS week, count(*) AS refunds FROM refunds WHERE issued_at BETWEEN '2024-07-01' AND GROUP BY 1",
		[]string{"week", "refunds"}},
	{"What is the average order value by country?",
		"SELECT country, round(avg(amount), 2) AS aov FROM orders JOIN customers ON customers.id = orders.customer_id GROUP BY country ORDER BY aov DESC",
		"SELECT country, round(avg(amount), 2) AS aov FROM orders JOIN customers ON customers.id = orders.customer_id GROUP BY country ORDER BY aov DESC)",
		[]string{"country", "aov"}},
	{"Show daily active users for the past 14 days.",
		"SELECT date(event_time) AS day, count(DISTINCT user_id) AS dau FROM events WHERE event_time > now() - interval '14 days' GROUP BY 1 ORDER BY 1",
		"SELECT date(event_time) AS day, count(DISTINCT user_id) AS dau FORM events WHERE event_time > now() - interval '14 days' GROUP BY 1",
		[]string{"day", "dau"}},
	{"Which product categories have the highest return rate?",
		"SELECT p.category, count(r.id)::float / count(o.id) AS return_rate FROM orders o JOIN products p ON p.id = o.product_id LEFT JOIN returns r ON r.order_id = o.id GROUP BY p.category ORDER BY return_rate DESC",
		"SELECT p.category, count(r.id)::float / count(o.id) AS return_rate FROM orders o JOIN products p ON p.id = o.product_id LEFT JOIN returns r ON r.order_id = o.id GROUP BY p.category ORDER BY return_rate DESC WHERE",
		[]string{"category", "return_rate"}},
}

var vendors = []string{
	"Acme Office Supplies GmbH", "Northwind Traders Ltd", "Globex Logistics BV", "Initech Cloud Services Inc.",
	"Umbrella Catering SARL", "Stark Industrial AB", "Wayne Print & Copy", "Contoso Electric Oy",
}

var lineItems = []string{
	"Printer paper A4 (box)", "Toner cartridge", "Cloud hosting (monthly)", "Freight EU zone 2",
	"Consulting hours", "Catering for 20 people", "Laptop stand", "Support plan premium", "Office cleaning",
}

var currencies = []string{"EUR", "EUR", "EUR", "USD", "USD", "GBP", "SEK"}

func pick[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }

func customerName(r *rand.Rand) string {
	return pick(r, firstNames) + " " + pick(r, lastNames)
}

func orderID(r *rand.Rand) string { return fmt.Sprintf("ORD-%06d", 100000+r.IntN(900000)) }

func customerID(r *rand.Rand) string { return fmt.Sprintf("cus_%05d", r.IntN(100000)) }

func emailOf(name string, r *rand.Rand) string {
	b := make([]byte, 0, len(name))
	for _, c := range []byte(name) {
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c >= 'a' && c <= 'z' {
			b = append(b, c)
		} else if c == ' ' {
			b = append(b, '.')
		}
	}
	return string(b) + pick(r, []string{"@example.com", "@mail.example.org", "@corp.example.net"})
}

// money rounds to cents.
func money(x float64) float64 { return float64(int64(x*100+0.5)) / 100 }

// words returns a rough token count for a text.
func tokens(s string) int64 { return int64(len(s)/4 + 1) }
