package otlp

import (
	"slices"
	"strconv"
	"strings"
)

// The inputs and outputs of a span: the GenAI message attributes and events,
// their older flattened forms, and OpenInference's input.value and
// output.value (docs/otel.md).

// indexed gathers OpenLLMetry-style flattened messages
// ("gen_ai.prompt.0.role", "gen_ai.prompt.0.content", …) into a list.
func indexed(a attrs, prefix string, used map[string]bool) any {
	msgs := map[int]map[string]any{}
	for k, v := range a {
		rest, ok := strings.CutPrefix(k, prefix)
		if !ok {
			continue
		}
		idx, field, ok := strings.Cut(rest, ".")
		n, err := strconv.Atoi(idx)
		if !ok || err != nil || n < 0 || n > 10000 {
			continue
		}
		if msgs[n] == nil {
			msgs[n] = map[string]any{}
		}
		msgs[n][field] = jsonish(v)
		used[k] = true
	}
	if len(msgs) == 0 {
		return nil
	}
	keys := make([]int, 0, len(msgs))
	for k := range msgs {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := make([]any, 0, len(keys))
	for _, k := range keys {
		out = append(out, msgs[k])
	}
	return out
}

// ioOf finds a span's input and output, in order of preference: the GenAI
// message attributes, the older prompt/completion attributes (whole or
// indexed), the GenAI events, the OpenInference values, tool call arguments
// and results.
func ioOf(sp *span, used map[string]bool) (in, out any) {
	a := sp.a
	pick := func(keys ...string) any {
		for _, k := range keys {
			if v, ok := a[k]; ok && v != nil {
				return jsonish(v)
			}
		}
		return nil
	}
	in = pick("gen_ai.input.messages", "gen_ai.prompt")
	out = pick("gen_ai.output.messages", "gen_ai.completion")
	if v := indexed(a, "gen_ai.prompt.", used); in == nil {
		in = v
	}
	if v := indexed(a, "gen_ai.completion.", used); out == nil {
		out = v
	}
	var evIn, evOut []any
	for _, ev := range sp.s.Events {
		if ev == nil {
			continue
		}
		ea := attrMap(ev.Attributes)
		switch ev.Name {
		case "gen_ai.system.message", "gen_ai.user.message", "gen_ai.assistant.message", "gen_ai.tool.message":
			m := map[string]any{"role": strings.TrimSuffix(strings.TrimPrefix(ev.Name, "gen_ai."), ".message")}
			for k, v := range ea {
				m[k] = jsonish(v)
			}
			evIn = append(evIn, m)
		case "gen_ai.choice":
			m := map[string]any{}
			for k, v := range ea {
				m[k] = jsonish(v)
			}
			evOut = append(evOut, m)
		case "gen_ai.content.prompt":
			if v, ok := ea["gen_ai.prompt"]; ok {
				evIn = append(evIn, jsonish(v))
			}
		case "gen_ai.content.completion":
			if v, ok := ea["gen_ai.completion"]; ok {
				evOut = append(evOut, jsonish(v))
			}
		}
	}
	if in == nil && len(evIn) > 0 {
		in = unwrap(evIn)
	}
	if out == nil && len(evOut) > 0 {
		out = unwrap(evOut)
	}
	if in == nil {
		in = pick("input.value", "gen_ai.tool.call.arguments")
	}
	if out == nil {
		out = pick("output.value", "gen_ai.tool.call.result")
	}
	return in, out
}

func unwrap(l []any) any {
	if len(l) == 1 {
		if _, ok := l[0].(map[string]any); !ok {
			return l[0]
		}
	}
	return l
}
