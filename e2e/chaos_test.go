package e2e

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"
)

// TestChaos plays customers asking FAQ questions one after the other while the worker, the API
// and the Temporal dev server (SQLite file) are each killed with SIGKILL and restarted. A send
// the callback refused (or that reached no API) is sent again a second later, as a person would.
// Every accepted message must be answered exactly once, as counted from what the fake Tencent
// REST API received. By default a short run (a few customers, one kill of each) for `make test`;
// TIMDESK_CHAOS=full (`make chaos`) runs more customers and several rounds of kills.
func TestChaos(t *testing.T) {
	if testing.Short() {
		t.Skip("e2e: skipped with -short")
	}
	// customers pause (think) between questions so the load spans every kill
	customersN, questionsN, rounds, every, think := 4, 12, 1, 2*time.Second, 500*time.Millisecond
	if os.Getenv("TIMDESK_CHAOS") == "full" {
		// 12 questions: each customer's are distinct, so a late answer is never taken for a later
		// question's (the demo FAQ has 12 answers)
		customersN, questionsN, rounds, every, think = 40, 12, 3, 4*time.Second, 2*time.Second
	}
	s := startLoadStack(t)
	g := s.newLoad()
	g.think = think
	questions := faqQuestions(t)
	customers := make([]string, customersN)
	for i := range customers {
		customers[i] = fmt.Sprintf("chaos%02d", i)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	loadDone := make(chan struct{})
	go func() {
		defer close(loadDone)
		g.closedLoop(ctx, customers, questions, questionsN, 2*time.Minute)
	}()

	kills := 0
	for range rounds {
		for _, victim := range []string{"worker", "api", "temporal"} {
			select {
			case <-loadDone:
			case <-time.After(every):
			}
			kills++
			t.Logf("kill -9 %s (%d answered so far)", victim, g.result().answered)
			if victim == "temporal" {
				s.killTemporal(t)
				time.Sleep(time.Second)
				s.startTemporal(t)
				continue
			}
			s.killProgram(t, victim)
			time.Sleep(time.Second)
			s.startProgram(t, victim)
			if victim == "api" {
				s.waitAPI(t)
			}
		}
	}
	<-loadDone
	g.drain(2*time.Minute, time.Minute)
	time.Sleep(3 * time.Second) // late duplicates
	r := g.result()
	sends, repeats := s.tencent.counts()
	report := fmt.Sprintf("chaos: %d customers × %d questions, %d kills: messages in %d (accepted %d, refused sends %d), "+
		"answers out %d, duplicates %d, missing %d, answers to a resent message whose refused first send had landed %d; "+
		"sendmsg calls %d (%d dropped by Tencent's dedupe), other messages %d",
		customersN, questionsN, kills, r.asked, r.accepted, r.refused, r.answered+r.duplicates+r.resendAnswers, r.duplicates, r.missing,
		r.resendAnswers, sends, repeats, r.other)
	fmt.Println(report)
	t.Log(report)
	if r.duplicates > 0 || r.missing > 0 || r.accepted != r.asked {
		t.Errorf("every message must be answered exactly once: %d duplicates, %d missing (e.g. %v), %d of %d never accepted",
			r.duplicates, r.missing, r.unanswered, r.asked-r.accepted, r.asked)
	}
	if r.other > 0 {
		t.Logf("messages that answer no question: %v", r.otherText)
	}
}
