package otlp

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/agenttrace/agenttrace"
	"github.com/go-json-experiment/json/jsontext"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
)

// Truncation caps. Inputs and outputs may use the whole domain limit; each
// metadata string is capped far lower so that many attributes still fit.
const (
	payloadLimit     = agenttrace.MaxPayloadBytes
	metadataStrCap   = 16 << 10
	maxMetadataKeys  = 256
	maxEventsInMeta  = 32
	truncationMarker = "…[truncated %d bytes]"
)

// attrs is a span's (or resource's, or event's) attributes by key. Later
// duplicates win, as in the OpenTelemetry SDKs.
type attrs map[string]*commonpb.AnyValue

func attrMap(kvs []*commonpb.KeyValue) attrs {
	m := make(attrs, len(kvs))
	for _, kv := range kvs {
		if kv != nil {
			m[kv.Key] = kv.Value
		}
	}
	return m
}

// str returns the attribute as a string ("" when absent). Numbers and
// booleans are formatted.
func (a attrs) str(key string) string {
	v, ok := a[key]
	if !ok || v == nil {
		return ""
	}
	switch x := v.Value.(type) {
	case *commonpb.AnyValue_StringValue:
		return x.StringValue
	case *commonpb.AnyValue_IntValue:
		return strconv.FormatInt(x.IntValue, 10)
	case *commonpb.AnyValue_DoubleValue:
		return strconv.FormatFloat(x.DoubleValue, 'g', -1, 64)
	case *commonpb.AnyValue_BoolValue:
		return strconv.FormatBool(x.BoolValue)
	}
	return ""
}

// int returns the attribute as a non-negative integer (ints, whole doubles,
// numeric strings); ok is false when absent or not a number.
func (a attrs) int(key string) (int64, bool) {
	v, ok := a[key]
	if !ok || v == nil {
		return 0, false
	}
	var n int64
	switch x := v.Value.(type) {
	case *commonpb.AnyValue_IntValue:
		n = x.IntValue
	case *commonpb.AnyValue_DoubleValue:
		if math.IsNaN(x.DoubleValue) || math.IsInf(x.DoubleValue, 0) {
			return 0, false
		}
		n = int64(x.DoubleValue)
	case *commonpb.AnyValue_StringValue:
		p, err := strconv.ParseInt(strings.TrimSpace(x.StringValue), 10, 64)
		if err != nil {
			return 0, false
		}
		n = p
	default:
		return 0, false
	}
	if n < 0 {
		return 0, false
	}
	return n, true
}

// goValue turns an AnyValue into a JSON-encodable Go value. Non-finite
// doubles become strings and bytes become base64, so encoding never fails.
func goValue(v *commonpb.AnyValue) any {
	if v == nil {
		return nil
	}
	switch x := v.Value.(type) {
	case *commonpb.AnyValue_StringValue:
		return x.StringValue
	case *commonpb.AnyValue_BoolValue:
		return x.BoolValue
	case *commonpb.AnyValue_IntValue:
		return x.IntValue
	case *commonpb.AnyValue_DoubleValue:
		if math.IsNaN(x.DoubleValue) || math.IsInf(x.DoubleValue, 0) {
			return strconv.FormatFloat(x.DoubleValue, 'g', -1, 64)
		}
		return x.DoubleValue
	case *commonpb.AnyValue_BytesValue:
		return base64.StdEncoding.EncodeToString(x.BytesValue)
	case *commonpb.AnyValue_ArrayValue:
		if x.ArrayValue == nil {
			return []any{}
		}
		out := make([]any, 0, len(x.ArrayValue.Values))
		for _, e := range x.ArrayValue.Values {
			out = append(out, goValue(e))
		}
		return out
	case *commonpb.AnyValue_KvlistValue:
		out := map[string]any{}
		if x.KvlistValue != nil {
			for _, kv := range x.KvlistValue.Values {
				if kv != nil {
					out[kv.Key] = goValue(kv.Value)
				}
			}
		}
		return out
	}
	return nil
}

// jsonish returns a string attribute that holds JSON (an object or a list,
// as GenAI message attributes do) as that JSON, any other value as itself.
func jsonish(v *commonpb.AnyValue) any {
	if s, ok := v.GetValue().(*commonpb.AnyValue_StringValue); ok {
		t := strings.TrimSpace(s.StringValue)
		if len(t) > 1 && (t[0] == '{' || t[0] == '[') && isJSON(t) {
			return json.RawMessage(t)
		}
		return s.StringValue
	}
	return goValue(v)
}

// isJSON is json.Valid, with jsontext's validator: several times faster
// than encoding/json's scanner on long GenAI messages, and set to accept what
// json.Valid accepts (duplicate names; invalid UTF-8, which protobuf strings
// cannot hold anyway).
func isJSON(s string) bool {
	return jsontext.Value(s).IsValid(jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true))
}

// truncate cuts s to at most max bytes (on a rune boundary), ending it with
// the marker that says how many bytes were cut.
func truncate(s string, max int) string {
	if len(s) <= max {
		return s
	}
	keep := max - len(fmt.Sprintf(truncationMarker, len(s)))
	if keep < 0 {
		keep = 0
	}
	for keep > 0 && !utf8.RuneStart(s[keep]) {
		keep--
	}
	return s[:keep] + fmt.Sprintf(truncationMarker, len(s)-keep)
}

// payload encodes v as a JSON payload under the domain limit. A value too
// large becomes a string: its text, truncated with the marker.
func payload(v any) json.RawMessage {
	if v == nil {
		return nil
	}
	var b []byte
	if raw, ok := v.(json.RawMessage); ok {
		b = raw
	} else {
		var err error
		if b, err = marshal(v); err != nil {
			return nil
		}
	}
	if len(b) <= payloadLimit {
		return b
	}
	text, ok := v.(string)
	if !ok {
		text = string(b)
	}
	budget := payloadLimit
	for range 8 {
		out, _ := marshal(truncate(text, budget))
		if len(out) <= payloadLimit {
			return out
		}
		budget -= len(out) - payloadLimit + 16 // escaping grew it; cut more
	}
	out, _ := marshal(truncate(text, payloadLimit/8))
	return out
}

func marshal(v any) ([]byte, error) {
	var sb strings.Builder
	enc := json.NewEncoder(&sb)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return []byte(strings.TrimSuffix(sb.String(), "\n")), nil
}

// capValue truncates every string inside v to max bytes.
func capValue(v any, max int) any {
	switch x := v.(type) {
	case string:
		return truncate(x, max)
	case json.RawMessage:
		if len(x) > max {
			return truncate(string(x), max)
		}
		return x
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = capValue(e, max)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[truncate(k, agenttrace.MaxNameLen)] = capValue(e, max)
		}
		return out
	}
	return v
}

// fitMetadata caps metadata values so that the whole stays under the domain
// limit; nothing is dropped silently (truncated values carry the marker).
func fitMetadata(md map[string]any) map[string]any {
	if len(md) == 0 {
		return nil
	}
	fixTags(md)
	for _, c := range []int{metadataStrCap, 2 << 10, 256} {
		out := capValue(md, c).(map[string]any)
		if b, err := marshal(out); err == nil && len(b) <= payloadLimit {
			return out
		}
	}
	b, _ := marshal(md)
	return map[string]any{"otel.metadata": truncate(string(b), 64<<10)}
}

// fixTags keeps metadata.tags a list of strings within the domain's limits
// (agenttrace.MaxTags, MaxTagLen). What does not fit goes to otel.tags, so
// that nothing is dropped and the span is not rejected.
func fixTags(md map[string]any) {
	t, ok := md["tags"]
	if !ok {
		return
	}
	list, ok := t.([]any)
	if s, isString := t.(string); isString {
		list, ok = []any{s}, true
	}
	if !ok {
		delete(md, "tags")
		md["otel.tags"] = t
		return
	}
	var tags, rest []any
	for _, e := range list {
		if s, isString := e.(string); isString && len(s) <= agenttrace.MaxTagLen && len(tags) < agenttrace.MaxTags && !strings.Contains(s, "\x00") {
			tags = append(tags, s)
		} else {
			rest = append(rest, e)
		}
	}
	md["tags"] = tags
	if len(tags) == 0 {
		delete(md, "tags")
	}
	if len(rest) > 0 {
		md["otel.tags"] = rest
	}
}

// slug turns a name into an agent id: lower case letters, digits and
// '-', '_', '.', ':'; other runs of characters become one '-'.
func slug(name string) string {
	var sb strings.Builder
	dash := false
	for _, c := range strings.ToLower(strings.TrimSpace(name)) {
		ok := c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == ':'
		if ok {
			sb.WriteRune(c)
			dash = false
		} else if !dash && sb.Len() > 0 {
			sb.WriteByte('-')
			dash = true
		}
	}
	s := strings.TrimRight(sb.String(), "-")
	if len(s) > agenttrace.MaxIDLen {
		s = strings.TrimRight(s[:agenttrace.MaxIDLen], "-")
	}
	return s
}

// clip cuts a short field (name, model, type) to its limit, keeping it valid UTF-8.
func clip(s string, max int) string {
	s = agenttrace.StorableText(s)
	if len(s) <= max {
		return s
	}
	for max > 0 && !utf8.RuneStart(s[max]) {
		max--
	}
	return s[:max]
}
