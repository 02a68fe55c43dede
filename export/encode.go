package export

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/agenttrace/agenttrace"
)

// runEncoder writes runs as compact JSON by hand. The output is byte for
// byte what encoding/json (HTML escaping off) writes for the same Run — a
// test holds it to that — at a fraction of the cost: no reflection, and
// stored payloads, compact since ingest, are copied instead of re-scanned.
// Metadata maps and rare strings that need escaping go through encoding/json.
type runEncoder struct {
	b     []byte
	slow  bytes.Buffer
	slowE *json.Encoder
}

func newRunEncoder() *runEncoder {
	e := &runEncoder{}
	e.slowE = json.NewEncoder(&e.slow)
	e.slowE.SetEscapeHTML(false)
	return e
}

// encode answers r as compact JSON; the bytes are valid until the next call.
func (e *runEncoder) encode(r *Run) ([]byte, error) {
	e.b = e.b[:0]
	if err := e.run(r); err != nil {
		return nil, err
	}
	return e.b, nil
}

// encodeStep answers one step as compact JSON (for the estimate's per-step sizes).
func (e *runEncoder) encodeStep(s *agenttrace.Step) ([]byte, error) {
	e.b = e.b[:0]
	if err := e.step(s); err != nil {
		return nil, err
	}
	return e.b, nil
}

func (e *runEncoder) run(r *Run) error {
	e.b = append(e.b, `{"id":`...)
	e.str(r.ID)
	e.b = append(e.b, `,"agent_id":`...)
	e.str(r.AgentID)
	e.b = append(e.b, `,"status":`...)
	e.str(string(r.Status))
	if r.Trigger != "" {
		e.b = append(e.b, `,"trigger":`...)
		e.str(r.Trigger)
	}
	var errType, errMsg, errStep string
	if r.Error != nil {
		errType, errMsg, errStep = r.Error.Type, r.Error.Message, r.Error.StepID
	}
	if err := e.shared(r.Input, r.Output, r.Error != nil, errType, errMsg, errStep, r.StartedAt, r.EndedAt, r.DurationMS, r.Credits, r.Usage); err != nil {
		return err
	}
	if err := e.metadata(r.Metadata); err != nil {
		return err
	}
	if r.SessionID != "" {
		e.b = append(e.b, `,"session_id":`...)
		e.str(r.SessionID)
	}
	if r.RerunOf != "" {
		e.b = append(e.b, `,"rerun_of":`...)
		e.str(r.RerunOf)
	}
	e.b = append(e.b, `,"step_count":`...)
	e.b = strconv.AppendInt(e.b, int64(r.StepCount), 10)
	if len(r.Reruns) > 0 {
		e.b = append(e.b, `,"reruns":[`...)
		for i, id := range r.Reruns {
			if i > 0 {
				e.b = append(e.b, ',')
			}
			e.str(id)
		}
		e.b = append(e.b, ']')
	}
	e.b = append(e.b, `,"steps":`...)
	if r.Steps == nil {
		e.b = append(e.b, "null"...)
	} else {
		e.b = append(e.b, '[')
		for i := range r.Steps {
			if i > 0 {
				e.b = append(e.b, ',')
			}
			if err := e.step(&r.Steps[i]); err != nil {
				return err
			}
		}
		e.b = append(e.b, ']')
	}
	e.b = append(e.b, `,"evaluations":`...)
	if r.Evaluations == nil {
		e.b = append(e.b, "null"...)
	} else {
		e.b = append(e.b, '[')
		for i := range r.Evaluations {
			if i > 0 {
				e.b = append(e.b, ',')
			}
			if err := e.eval(&r.Evaluations[i]); err != nil {
				return err
			}
		}
		e.b = append(e.b, ']')
	}
	e.b = append(e.b, '}')
	return nil
}

func (e *runEncoder) step(s *agenttrace.Step) error {
	e.b = append(e.b, `{"id":`...)
	e.str(s.ID)
	e.b = append(e.b, `,"run_id":`...)
	e.str(s.RunID)
	if s.ParentID != "" {
		e.b = append(e.b, `,"parent_id":`...)
		e.str(s.ParentID)
	}
	e.b = append(e.b, `,"seq":`...)
	e.b = strconv.AppendInt(e.b, s.Seq, 10)
	e.b = append(e.b, `,"name":`...)
	e.str(s.Name)
	e.b = append(e.b, `,"type":`...)
	e.str(string(s.Type))
	e.b = append(e.b, `,"status":`...)
	e.str(string(s.Status))
	var errType, errMsg string
	if s.Error != nil {
		errType, errMsg = s.Error.Type, s.Error.Message
	}
	if err := e.shared(s.Input, s.Output, s.Error != nil, errType, errMsg, "", s.StartedAt, s.EndedAt, s.DurationMS, s.Credits, s.Usage); err != nil {
		return err
	}
	if s.Model != "" {
		e.b = append(e.b, `,"model":`...)
		e.str(s.Model)
	}
	if err := e.metadata(s.Metadata); err != nil {
		return err
	}
	e.b = append(e.b, '}')
	return nil
}

// shared writes the fields runs and steps have in common, in their order:
// input, output, error, started_at, ended_at, duration_ms, credits, usage.
// A step's error has no step_id, so errStep is "" for steps.
func (e *runEncoder) shared(in, out json.RawMessage, hasErr bool, errType, errMsg, errStep string,
	started, ended *time.Time, duration, credits float64, u agenttrace.Usage) error {
	if err := e.payload(`,"input":`, in); err != nil {
		return err
	}
	if err := e.payload(`,"output":`, out); err != nil {
		return err
	}
	e.b = append(e.b, `,"error":`...)
	if !hasErr {
		e.b = append(e.b, "null"...)
	} else {
		e.b = append(e.b, '{')
		if errType != "" {
			e.b = append(e.b, `"type":`...)
			e.str(errType)
			e.b = append(e.b, ',')
		}
		e.b = append(e.b, `"message":`...)
		e.str(errMsg)
		if errStep != "" {
			e.b = append(e.b, `,"step_id":`...)
			e.str(errStep)
		}
		e.b = append(e.b, '}')
	}
	e.optTime(`,"started_at":`, started)
	e.optTime(`,"ended_at":`, ended)
	if err := e.float(`,"duration_ms":`, duration); err != nil {
		return err
	}
	if err := e.float(`,"credits":`, credits); err != nil {
		return err
	}
	e.usage(u)
	return nil
}

func (e *runEncoder) eval(v *agenttrace.EvalResult) error {
	e.b = append(e.b, `{"id":`...)
	e.str(v.ID)
	e.b = append(e.b, `,"run_id":`...)
	e.str(v.RunID)
	e.b = append(e.b, `,"evaluator_id":`...)
	e.str(v.EvaluatorID)
	e.b = append(e.b, `,"evaluator_name":`...)
	e.str(v.EvaluatorName)
	e.b = append(e.b, `,"verdict":`...)
	e.str(v.Verdict)
	if v.Score != nil {
		if err := e.float(`,"score":`, *v.Score); err != nil {
			return err
		}
	}
	if v.Reason != "" {
		e.b = append(e.b, `,"reason":`...)
		e.str(v.Reason)
	}
	if v.StepID != "" {
		e.b = append(e.b, `,"step_id":`...)
		e.str(v.StepID)
	}
	if v.JobID != "" {
		e.b = append(e.b, `,"job_id":`...)
		e.str(v.JobID)
	}
	e.b = append(e.b, `,"created_at":"`...)
	e.b = v.CreatedAt.AppendFormat(e.b, time.RFC3339Nano)
	e.b = append(e.b, `"}`...)
	return nil
}

func (e *runEncoder) usage(u agenttrace.Usage) {
	e.b = append(e.b, `,"usage":{"input_tokens":`...)
	e.b = strconv.AppendInt(e.b, u.InputTokens, 10)
	e.b = append(e.b, `,"output_tokens":`...)
	e.b = strconv.AppendInt(e.b, u.OutputTokens, 10)
	e.b = append(e.b, '}')
}

func (e *runEncoder) optTime(key string, t *time.Time) {
	if t == nil {
		return
	}
	e.b = append(e.b, key...)
	e.b = append(e.b, '"')
	e.b = t.AppendFormat(e.b, time.RFC3339Nano)
	e.b = append(e.b, '"')
}

// payload writes an omitempty json.RawMessage. Stored payloads are compact
// (every ingest path, HTTP, OTLP and the demo, goes through Batch.Normalize,
// which compacts them), so
// they are copied as they are. Only a payload with a raw line break, which
// would split a JSONL line, is compacted here: bytes.IndexByte is
// vectorized, where a full scan for whitespace outside strings took a tenth
// of the export's CPU.
func (e *runEncoder) payload(key string, p json.RawMessage) error {
	if len(p) == 0 {
		return nil
	}
	e.b = append(e.b, key...)
	if bytes.IndexByte(p, '\n') < 0 && bytes.IndexByte(p, '\r') < 0 {
		e.b = append(e.b, p...)
		return nil
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, p); err != nil {
		return err
	}
	e.b = append(e.b, buf.Bytes()...)
	return nil
}

func (e *runEncoder) metadata(md map[string]any) error {
	if len(md) == 0 {
		return nil
	}
	e.b = append(e.b, `,"metadata":`...)
	return e.viaJSON(md)
}

// viaJSON appends v as encoding/json writes it (HTML escaping off).
func (e *runEncoder) viaJSON(v any) error {
	e.slow.Reset()
	if err := e.slowE.Encode(v); err != nil {
		return err
	}
	out := e.slow.Bytes()
	e.b = append(e.b, out[:len(out)-1]...)
	return nil
}

// float writes key and f the way encoding/json formats a float64.
func (e *runEncoder) float(key string, f float64) error {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return &json.UnsupportedValueError{Str: strconv.FormatFloat(f, 'g', -1, 64)}
	}
	e.b = append(e.b, key...)
	abs, format := math.Abs(f), byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	start := len(e.b)
	e.b = strconv.AppendFloat(e.b, f, format, -1, 64)
	if format == 'e' {
		// clean up e-09 to e-9, as encoding/json does
		n := len(e.b) - start
		if n >= 4 && e.b[len(e.b)-4] == 'e' && e.b[len(e.b)-3] == '-' && e.b[len(e.b)-2] == '0' {
			e.b[len(e.b)-2] = e.b[len(e.b)-1]
			e.b = e.b[:len(e.b)-1]
		}
	}
	return nil
}

// str writes s as a JSON string: copied as is when nothing in it needs
// escaping (the common case), else through encoding/json.
func (e *runEncoder) str(s string) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c == '"' || c == '\\' || c >= 0x80 {
			if c >= 0x80 && plainUTF8(s[i:]) {
				break
			}
			_ = e.viaJSON(s) // a string always encodes
			return
		}
	}
	e.b = append(e.b, '"')
	e.b = append(e.b, s...)
	e.b = append(e.b, '"')
}

// plainUTF8 reports whether s is valid UTF-8 with no byte that encoding/json
// escapes: ASCII controls, quotes, backslashes, U+2028 and U+2029.
func plainUTF8(s string) bool {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c < 0x20 || c == '"' || c == '\\' {
				return false
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 || r == '\u2028' || r == '\u2029' {
			return false
		}
		i += size
	}
	return true
}
