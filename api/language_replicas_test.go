package main

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/timdesk/timdesk/desk"
	"github.com/timdesk/timdesk/tim"
	"github.com/timdesk/timdesk/workflows"
)

// sharedDesk is one desk workflow state that several API replicas (test envs) query and signal.
type sharedDesk struct {
	mu sync.Mutex
	st desk.State
}

func newSharedDesk() *sharedDesk { return &sharedDesk{st: desk.NewState(nil)} }

// install makes env's fake Temporal answer the desk query from d and apply language signals to it.
func (d *sharedDesk) install(e *testEnv) {
	e.temporal.query = func(_ context.Context, c call) (any, error) {
		if c.Name != workflows.QueryDesk {
			return nil, errNoFake
		}
		d.mu.Lock()
		defer d.mu.Unlock()
		return desk.NewState(&d.st), nil
	}
	e.temporal.signalWithStart = func(_ context.Context, c call) error {
		if p, ok := c.Arg.(desk.LanguagePreference); ok && c.ID == workflows.DeskWorkflowID {
			d.mu.Lock()
			defer d.mu.Unlock()
			d.st.ApplyLanguage(p, testNow)
		}
		return nil
	}
}

func (d *sharedDesk) languageOf(user string) string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.st.LanguageOf(user)
}

// TestTranslationDoesNotDependOnTheReplica: bob writes French to replica A; replica B, which
// never saw bob write, translates alice's message to bob into French, because the detection
// lives in the desk. Bob's French is recognised from the text (not only his script).
func TestTranslationDoesNotDependOnTheReplica(t *testing.T) {
	shared := newSharedDesk()
	a := newTestEnv(t, func(e *testEnv) { shared.install(e); e.trans.fn = fakeTranslation })
	b := newTestEnv(t, func(e *testEnv) { shared.install(e); e.trans.fn = fakeTranslation })
	send := func(env *testEnv, from, to, text string) tim.CallbackResponse {
		return callbackAnswer(t, env.do(t, http.MethodPost, goodURL(tim.CmdC2CBeforeSendMsg),
			c2cBody(tim.CmdC2CBeforeSendMsg, from, to, textBody(text), "")))
	}
	send(a, "alice", "carol", "Hello, see you tomorrow at the station") // alice writes English
	send(a, "bob", "carol", "Bonjour, je voudrais savoir où est mon colis")
	for deadline := time.Now().Add(5 * time.Second); shared.languageOf("bob") != "fr" || shared.languageOf("alice") != "en"; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the desk did not record the detections: bob=%q alice=%q", shared.languageOf("bob"), shared.languageOf("alice"))
		}
	}
	cr := send(b, "alice", "bob", "Your parcel arrives on Monday")
	if len(cr.MsgBody) != 1 {
		t.Fatalf("replica B did not translate alice → bob: %+v", cr)
	}
	if got, _ := cr.MsgBody[0].Text(); got != "[fr] Your parcel arrives on Monday" {
		t.Errorf("alice → bob on replica B = %q, want a French translation", got)
	}
	// And bob's French reaches alice translated into English on either replica.
	cr = send(b, "bob", "alice", "Merci beaucoup, c'est parfait pour moi")
	if got := cr.MsgBody.Text(); !strings.HasPrefix(got, "[en] ") {
		t.Errorf("bob → alice on replica B = %q, want an English translation", got)
	}
	if calls := b.trans.Calls(); len(calls) == 0 || calls[len(calls)-1].Source != "fr" {
		t.Errorf("translator calls %+v, want source fr", calls)
	}
	// The record is sent once per user and language, not per message.
	send(a, "bob", "carol", "Bonjour encore, je voudrais un remboursement")
	if n := len(a.temporal.LanguageRecords()); n != 2 {
		t.Errorf("replica A recorded %d detections, want 2 (alice en, bob fr): %+v", n, a.temporal.LanguageRecords())
	}
}
