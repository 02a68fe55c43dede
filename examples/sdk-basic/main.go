// Command sdk-basic records one run of a small scripted agent with the Go SDK.
//
//	AGENTTRACE_URL=http://127.0.0.1:7070 AGENTTRACE_KEY=at_… go run ./examples/sdk-basic
package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/agenttrace/agenttrace/sdk"
)

func main() {
	url := os.Getenv("AGENTTRACE_URL")
	if url == "" {
		url = "http://127.0.0.1:7070"
	}
	client := sdk.New(sdk.Options{URL: url, Key: os.Getenv("AGENTTRACE_KEY")})

	question := "What is the weather in Paris?"
	answer, err := answer(context.Background(), client, question)
	if err != nil {
		log.Printf("agent failed: %v", err)
	}
	fmt.Println(answer)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := client.Close(ctx); err != nil {
		log.Printf("closing the agenttrace client: %v", err)
	}
	st := client.Stats()
	fmt.Printf("sent %d items, dropped %d (last error: %q)\n", st.Sent, st.Dropped, st.LastError)
}

// answer is the agent: plan with a model, call a tool (which fails once and
// is retried), then answer with the model.
func answer(ctx context.Context, client *sdk.Client, question string) (string, error) {
	ctx, run := client.StartRun(ctx, "weather-agent", sdk.WithInput(map[string]string{"question": question}),
		sdk.WithSessionID("example-session"), sdk.WithTags("example"))
	defer run.End()

	plan := chat(ctx, "plan", []string{question}, "call get_weather(Paris)")

	forecast, err := weather(ctx, "Paris", true)
	if err != nil {
		forecast, err = weather(ctx, "Paris", false)
	}
	if err != nil {
		run.Fail(err)
		return "", err
	}
	out := chat(ctx, "answer", []string{question, plan, forecast}, "It is sunny in Paris, 24°C.")
	run.SetOutput(out)
	return out, nil
}

func chat(ctx context.Context, name string, prompt []string, reply string) string {
	_, step := sdk.StartStep(ctx, "chat "+name, sdk.StepLLM, sdk.WithModel("gpt-4o-mini"), sdk.WithInput(prompt))
	defer step.End()
	time.Sleep(20 * time.Millisecond) // the model thinks
	step.SetUsage(int64(40*len(prompt)), int64(len(reply)/4+1))
	step.SetOutput(reply)
	return reply
}

func weather(ctx context.Context, city string, fail bool) (string, error) {
	ctx, step := sdk.StartStep(ctx, "get_weather", sdk.StepTool, sdk.WithInput(map[string]string{"city": city}))
	// A nested HTTP call inside the tool.
	_, call := sdk.StartStep(ctx, "GET weather.example/api", sdk.StepHTTP)
	time.Sleep(5 * time.Millisecond)
	if fail {
		err := errors.New("weather API: 503 Service Unavailable")
		call.Fail(err)
		step.Fail(err)
		return "", err
	}
	call.End()
	out := "sunny, 24°C"
	step.SetOutput(out)
	step.End()
	return out, nil
}
