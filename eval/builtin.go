package eval

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/agenttrace/agenttrace"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// Builtins lists the built-in checks.
var Builtins = []string{"pii", "secrets", "max_credits", "max_duration_ms", "no_failed_steps", "output_is_json", "output_matches_schema", "banned_tools"}

type builtinConfig struct {
	Check  string          `json:"check"`
	Params json.RawMessage `json:"params"`
}

type builtinParams struct {
	// pii: which kinds (email, phone, card, national_id; default all); secrets too: scan inputs as well.
	Types         []string `json:"types,omitempty"`
	IncludeInputs *bool    `json:"include_inputs,omitempty"`
	// max_credits, max_duration_ms
	Max *float64 `json:"max,omitempty"`
	// output_is_json, output_matches_schema: the output of the last step of
	// this name instead of the run's output.
	Step   string          `json:"step,omitempty"`
	Schema json.RawMessage `json:"schema,omitempty"`
	// banned_tools
	Tools []string `json:"tools,omitempty"`
}

type builtin struct {
	check  string
	p      builtinParams
	schema *jsonschema.Schema
}

func compileBuiltin(raw json.RawMessage) (*builtin, error) {
	var c builtinConfig
	if err := decodeConfig(raw, &c); err != nil {
		return nil, err
	}
	b := &builtin{check: c.Check}
	if len(c.Params) > 0 && string(c.Params) != "null" {
		if err := decodeConfig(c.Params, &b.p); err != nil {
			return nil, agenttrace.Errorf(agenttrace.EINVALID, "config.params: %s", strings.TrimPrefix(agenttrace.ErrorMessage(err), "config: "))
		}
	}
	switch c.Check {
	case "pii":
		for _, t := range b.p.Types {
			if !slices.Contains(piiTypes, t) {
				return nil, agenttrace.Errorf(agenttrace.EINVALID, "config.params.types: %q is not one of %s", t, strings.Join(piiTypes, ", "))
			}
		}
	case "secrets", "no_failed_steps", "output_is_json":
	case "max_credits", "max_duration_ms":
		if b.p.Max == nil || *b.p.Max < 0 {
			return nil, agenttrace.Errorf(agenttrace.EINVALID, "config.params.max: required, a number ≥ 0")
		}
	case "output_matches_schema":
		if len(b.p.Schema) == 0 {
			return nil, agenttrace.Errorf(agenttrace.EINVALID, "config.params.schema: required, a JSON Schema")
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b.p.Schema))
		if err != nil {
			return nil, agenttrace.Errorf(agenttrace.EINVALID, "config.params.schema: not JSON: %v", err)
		}
		comp := jsonschema.NewCompiler()
		comp.UseLoader(noLoader{})
		if err := comp.AddResource("schema.json", doc); err != nil {
			return nil, agenttrace.Errorf(agenttrace.EINVALID, "config.params.schema: %v", err)
		}
		if b.schema, err = comp.Compile("schema.json"); err != nil {
			return nil, agenttrace.Errorf(agenttrace.EINVALID, "config.params.schema: %v", err)
		}
	case "banned_tools":
		if len(b.p.Tools) == 0 {
			return nil, agenttrace.Errorf(agenttrace.EINVALID, "config.params.tools: required, a list of tool names")
		}
	case "":
		return nil, agenttrace.Errorf(agenttrace.EINVALID, "config.check: required, one of %s", strings.Join(Builtins, ", "))
	default:
		return nil, agenttrace.Errorf(agenttrace.EINVALID, "config.check: %q is not one of %s", c.Check, strings.Join(Builtins, ", "))
	}
	return b, nil
}

// noLoader refuses remote $refs: schemas are self-contained.
type noLoader struct{}

func (noLoader) Load(url string) (any, error) {
	return nil, fmt.Errorf("remote $ref %s is not loaded; inline it", url)
}

func (b *builtin) Check(ctx context.Context, run *agenttrace.Run) Verdict {
	switch b.check {
	case "pii":
		return b.scan(run, b.p.IncludeInputs != nil && *b.p.IncludeInputs, findPII)
	case "secrets":
		return b.scan(run, b.p.IncludeInputs == nil || *b.p.IncludeInputs, findSecret)
	case "max_credits":
		if run.Credits > *b.p.Max {
			worst := largestStep(run.Steps, func(s *agenttrace.Step) float64 { return s.Credits })
			if worst >= 0 {
				return fail(run.Steps[worst].ID, "run used %.4g credits, over the limit of %.4g (most: %s with %.4g)", run.Credits, *b.p.Max, stepLabel(worst, &run.Steps[worst]), run.Steps[worst].Credits)
			}
			return fail("", "run used %.4g credits, over the limit of %.4g", run.Credits, *b.p.Max)
		}
		return pass("")
	case "max_duration_ms":
		if run.DurationMS > *b.p.Max {
			worst := largestStep(run.Steps, func(s *agenttrace.Step) float64 { return s.DurationMS })
			if worst >= 0 {
				return fail(run.Steps[worst].ID, "run took %.0f ms, over the limit of %.0f ms (longest: %s with %.0f ms)", run.DurationMS, *b.p.Max, stepLabel(worst, &run.Steps[worst]), run.Steps[worst].DurationMS)
			}
			return fail("", "run took %.0f ms, over the limit of %.0f ms", run.DurationMS, *b.p.Max)
		}
		return pass("")
	case "no_failed_steps":
		for i := range run.Steps {
			s := &run.Steps[i]
			if s.Status == agenttrace.StatusFailed {
				msg := ""
				if s.Error != nil {
					msg = ": " + clip(s.Error.Message, 200)
				}
				return fail(s.ID, "%s failed%s", stepLabel(i, s), msg)
			}
		}
		return pass("")
	case "output_is_json", "output_matches_schema":
		return b.checkOutput(run)
	case "banned_tools":
		for i := range run.Steps {
			s := &run.Steps[i]
			if s.Type == agenttrace.StepTool && slices.Contains(b.p.Tools, s.Name) {
				return fail(s.ID, "%s calls the banned tool %s", stepLabel(i, s), s.Name)
			}
		}
		return pass("")
	}
	return errorVerdict("unknown check %q", b.check)
}

func (b *builtin) checkOutput(run *agenttrace.Run) Verdict {
	out, where, stepID := run.Output, "run output", ""
	if b.p.Step != "" {
		found := false
		for i := len(run.Steps) - 1; i >= 0; i-- {
			if run.Steps[i].Name == b.p.Step {
				out, where, stepID, found = run.Steps[i].Output, stepLabel(i, &run.Steps[i])+" output", run.Steps[i].ID, true
				break
			}
		}
		if !found {
			return fail("", "no step named %q", b.p.Step)
		}
	}
	if len(bytes.TrimSpace(out)) == 0 || string(out) == "null" {
		return fail(stepID, "%s is empty", where)
	}
	var v any
	if err := json.Unmarshal(out, &v); err != nil {
		return fail(stepID, "%s is not valid JSON: %v", where, err)
	}
	// An output that is a string holding JSON (what models answer) is parsed.
	if s, ok := v.(string); ok {
		doc, err := jsonschema.UnmarshalJSON(strings.NewReader(stripFences(s)))
		if err != nil {
			return fail(stepID, "%s is not valid JSON: %q", where, clip(s, 80))
		}
		v = doc
	} else {
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(out))
		if err != nil {
			return fail(stepID, "%s is not valid JSON: %v", where, err)
		}
		v = doc
	}
	if b.schema == nil {
		return pass("")
	}
	if err := b.schema.Validate(v); err != nil {
		msg := err.Error()
		if ve, ok := err.(*jsonschema.ValidationError); ok {
			if bo := ve.BasicOutput(); bo != nil && len(bo.Errors) > 0 {
				parts := []string{}
				for _, u := range bo.Errors {
					if u.Error != nil {
						loc := u.InstanceLocation
						if loc == "" {
							loc = "/"
						}
						parts = append(parts, loc+": "+u.Error.String())
					}
				}
				if len(parts) > 0 {
					msg = strings.Join(parts, "; ")
				}
			}
		}
		return fail(stepID, "%s does not match the schema: %s", where, clip(msg, 300))
	}
	return pass("")
}

func stripFences(s string) string {
	t := strings.TrimSpace(s)
	if strings.HasPrefix(t, "```") {
		t = strings.TrimPrefix(t, "```")
		t = strings.TrimPrefix(t, "json")
		t = strings.TrimSuffix(strings.TrimSpace(t), "```")
	}
	return t
}

// finding is one match of a scanner, already masked for the reason.
type finding struct{ what, masked string }

type finder func(text string, b *builtin) (finding, bool)

// scan looks at the run's and its steps' outputs (and inputs, errors when
// asked), in execution order, and fails on the first finding.
func (b *builtin) scan(run *agenttrace.Run, inputs bool, find finder) Verdict {
	check := func(raw json.RawMessage) (finding, bool) {
		if len(raw) == 0 {
			return finding{}, false
		}
		return find(textOf(raw), b)
	}
	for i := range run.Steps {
		s := &run.Steps[i]
		if inputs {
			if f, ok := check(s.Input); ok {
				return fail(s.ID, "%s input contains %s: %s", stepLabel(i, s), f.what, f.masked)
			}
		}
		if f, ok := check(s.Output); ok {
			return fail(s.ID, "%s output contains %s: %s", stepLabel(i, s), f.what, f.masked)
		}
		if s.Error != nil {
			if f, ok := find(s.Error.Message, b); ok {
				return fail(s.ID, "%s error contains %s: %s", stepLabel(i, s), f.what, f.masked)
			}
		}
	}
	if inputs {
		if f, ok := check(run.Input); ok {
			return fail("", "run input contains %s: %s", f.what, f.masked)
		}
	}
	if f, ok := check(run.Output); ok {
		return fail("", "run output contains %s: %s", f.what, f.masked)
	}
	return pass("")
}

// textOf is the text of a JSON value: its strings (and numbers) joined by
// newlines, so that escapes do not hide anything; raw text if not JSON.
func textOf(raw json.RawMessage) string {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return string(raw)
	}
	var sb strings.Builder
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case string:
			sb.WriteString(x)
			sb.WriteByte('\n')
		case float64:
			fmt.Fprintf(&sb, "%.0f\n", x)
		case []any:
			for _, e := range x {
				walk(e)
			}
		case map[string]any:
			for k, e := range x {
				sb.WriteString(k)
				sb.WriteString(": ")
				walk(e)
			}
		}
	}
	walk(v)
	return sb.String()
}

var piiTypes = []string{"email", "phone", "card", "national_id"}

var (
	reEmail = regexp.MustCompile(`[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}`)
	reCard  = regexp.MustCompile(`\b\d(?:[ -]?\d){12,18}\b`)
	rePhone = regexp.MustCompile(`(?:^|[^\d\w])((?:\+\d{1,3}[ .-]?)?(?:\(\d{2,4}\)|\d{2,4})[ .-]\d{3,4}[ .-]\d{3,4}|\+\d{8,14})(?:$|[^\d\w])`)
	reSSN   = regexp.MustCompile(`\b(\d{3})-(\d{2})-(\d{4})\b`)
	reNINO  = regexp.MustCompile(`\b[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z] ?\d{2} ?\d{2} ?\d{2} ?[A-D]\b`)
)

func (b *builtin) wants(t string) bool { return len(b.p.Types) == 0 || slices.Contains(b.p.Types, t) }

func findPII(text string, b *builtin) (finding, bool) {
	if b.wants("email") {
		if m := reEmail.FindString(text); m != "" {
			local, domain, _ := strings.Cut(m, "@")
			return finding{"an email address", local[:1] + "***@" + domain}, true
		}
	}
	if b.wants("card") {
		for _, m := range reCard.FindAllString(text, -1) {
			digits := onlyDigits(m)
			if len(digits) >= 13 && len(digits) <= 19 && luhn(digits) {
				return finding{"a card number", "****" + digits[len(digits)-4:]}, true
			}
		}
	}
	if b.wants("national_id") {
		for _, m := range reSSN.FindAllStringSubmatch(text, -1) {
			area, group, serial := m[1], m[2], m[3]
			if area == "000" || area == "666" || area[0] == '9' || group == "00" || serial == "0000" {
				continue
			}
			return finding{"a national id (US SSN)", "***-**-" + serial}, true
		}
		if m := reNINO.FindString(text); m != "" {
			return finding{"a national id (UK NINO)", m[:2] + "******" + m[len(m)-1:]}, true
		}
	}
	if b.wants("phone") {
		// Long digit runs (card-like numbers, ids) are not phone numbers.
		text = reCard.ReplaceAllString(text, " ")
		for _, sm := range rePhone.FindAllStringSubmatch(text, -1) {
			m := sm[1]
			d := onlyDigits(m)
			if len(d) < 9 || len(d) > 15 || reSSN.MatchString(m) || looksLikeDate(m) {
				continue
			}
			return finding{"a phone number", strings.Repeat("*", len(d)-2) + d[len(d)-2:]}, true
		}
	}
	return finding{}, false
}

var reDate = regexp.MustCompile(`^\d{4}[-./]\d{2}[-./]\d{2}`)

func looksLikeDate(s string) bool { return reDate.MatchString(s) }

func onlyDigits(s string) string {
	var sb strings.Builder
	for _, c := range s {
		if c >= '0' && c <= '9' {
			sb.WriteRune(c)
		}
	}
	return sb.String()
}

// luhn reports whether a string of digits passes the Luhn checksum.
func luhn(digits string) bool {
	sum, double := 0, false
	for i := len(digits) - 1; i >= 0; i-- {
		d := int(digits[i] - '0')
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return sum%10 == 0
}

var secretPatterns = []struct {
	what string
	re   *regexp.Regexp
}{
	{"a private key", regexp.MustCompile(`-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----`)},
	{"an API key (sk-…)", regexp.MustCompile(`\bsk-(?:proj-|ant-|live_|test_)?[A-Za-z0-9_-]{20,}`)},
	{"an AWS access key", regexp.MustCompile(`\b(?:AKIA|ASIA)[0-9A-Z]{16}\b`)},
	{"a GitHub token", regexp.MustCompile(`\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{40,})`)},
	{"a Slack token", regexp.MustCompile(`\bxox[abprs]-[A-Za-z0-9-]{10,}`)},
	{"a Google API key", regexp.MustCompile(`\bAIza[0-9A-Za-z_-]{35}`)},
	{"a bearer token", regexp.MustCompile(`(?i)\bbearer\s+[A-Za-z0-9\-._~+/]{16,}=*`)},
}

func findSecret(text string, _ *builtin) (finding, bool) {
	for _, p := range secretPatterns {
		if m := p.re.FindString(text); m != "" {
			keep := 6
			if strings.HasPrefix(m, "-----") {
				return finding{p.what, clip(m, 40)}, true
			}
			if strings.HasPrefix(strings.ToLower(m), "bearer") {
				keep = 10
			}
			if keep > len(m)/2 {
				keep = len(m) / 2
			}
			return finding{p.what, m[:keep] + "…"}, true
		}
	}
	return finding{}, false
}

// largestStep answers the index of the step with the largest value, or -1.
func largestStep(steps []agenttrace.Step, value func(*agenttrace.Step) float64) int {
	worst := -1
	for i := range steps {
		if worst < 0 || value(&steps[i]) > value(&steps[worst]) {
			worst = i
		}
	}
	return worst
}
