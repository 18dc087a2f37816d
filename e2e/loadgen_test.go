package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/timdesk/timdesk/tim"
)

// loadgen plays customers against the API's callback endpoint exactly as Tencent IM would:
// signed C2C.CallbackBeforeSendMsg, and for a message it accepted C2C.CallbackAfterSendMsg.
// The app is taken to be set to "don't deliver" when a before-send callback fails (Tencent's
// console option; the sender gets 80003), so every failed or refused callback is a failed send on
// the customer's screen, and the customer sends the message again a second later, as a person
// would. Answers are counted from what the fake Tencent REST API delivered.
type loadgen struct {
	callbackURL string
	appID       uint64
	token       string
	http        *http.Client
	seq         atomic.Uint32
	// service is the account customers write to.
	service string
	// think is how long a closed-loop customer pauses after an answer before the next question.
	think time.Duration

	mu        sync.Mutex
	customers map[string]*customerLog
	acks      []time.Duration // every before-send round trip that answered
	refused   int             // before-send callbacks refused or failed (the message was resent)
	afterFail int             // after-send callbacks that failed
	other     int             // delivered messages that answer no question
	otherText []string        // a few of them, for the report
}

// customerLog is one customer's questions and the answers they received.
type customerLog struct {
	questions []*question
	notify    chan struct{}
}

// question is one customer message and its fate.
type question struct {
	text string
	// answer is the expected reply text; "" accepts any reply.
	answer     string
	start      time.Time // first attempt
	accepted   bool
	answeredAt time.Time
	answers    int // delivered replies matching this question
	// uncertain counts refused sends that may still have reached the consultation: the API
	// answered ErrorCode 1 or the callback failed after reaching it (its signal may have landed
	// after it gave up). The customer's resend is a new message to timdesk, so each may add an
	// answer; only answers beyond 1 + uncertain are duplicates timdesk made.
	uncertain int
}

func newLoadgen(callbackURL string, appID uint64, token, service string) *loadgen {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns, tr.MaxIdleConnsPerHost = 512, 512
	return &loadgen{
		callbackURL: callbackURL,
		appID:       appID,
		token:       token,
		service:     service,
		// Tencent waits 2 s for a callback's answer.
		http:      &http.Client{Transport: tr, Timeout: 2 * time.Second},
		customers: map[string]*customerLog{},
	}
}

// deliver is the fake Tencent's delivery hook: it matches a reply to the customer's questions.
func (g *loadgen) deliver(to, from, text string, at time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	c := g.customers[to]
	if c == nil || from != g.service {
		g.noteOther(to, from, text)
		return
	}
	var dup *question
	for _, q := range c.questions {
		if q.answer != "" && q.answer != text {
			continue
		}
		if q.answers == 0 {
			q.answers, q.answeredAt = 1, at
			select {
			case c.notify <- struct{}{}:
			default:
			}
			return
		}
		if dup == nil {
			dup = q
		}
	}
	if dup != nil {
		dup.answers++
		return
	}
	g.noteOther(to, from, text)
}

func (g *loadgen) noteOther(to, from, text string) {
	g.other++
	if len(g.otherText) < 5 {
		g.otherText = append(g.otherText, fmt.Sprintf("%s→%s: %.80q", from, to, text))
	}
}

func (g *loadgen) customer(id string) *customerLog {
	g.mu.Lock()
	defer g.mu.Unlock()
	c := g.customers[id]
	if c == nil {
		c = &customerLog{notify: make(chan struct{}, 1)}
		g.customers[id] = c
	}
	return c
}

// giveUp is how long a customer keeps resending a refused message.
const giveUp = 3 * time.Minute

// ask sends text from customer until a before-send callback accepts it (one attempt a second),
// ctx ends or giveUp passes, and returns the question. Its after-send callback follows
// asynchronously.
func (g *loadgen) ask(ctx context.Context, customer, text, answer string) *question {
	ctx, cancel := context.WithTimeout(ctx, giveUp)
	defer cancel()
	c := g.customer(customer)
	q := &question{text: text, answer: answer, start: time.Now()}
	g.mu.Lock()
	c.questions = append(c.questions, q)
	g.mu.Unlock()
	for {
		m := g.message(customer, text)
		start := time.Now()
		code, err := g.callback(ctx, tim.CmdC2CBeforeSendMsg, m)
		elapsed := time.Since(start)
		g.mu.Lock()
		if err == nil {
			g.acks = append(g.acks, elapsed)
		}
		if err == nil && code == 0 {
			q.accepted = true
			g.mu.Unlock()
			go g.afterSend(context.WithoutCancel(ctx), m)
			return q
		}
		g.refused++
		if !errors.Is(err, syscall.ECONNREFUSED) {
			q.uncertain++ // not a connection nobody accepted: the signal may have landed
		}
		g.mu.Unlock()
		select {
		case <-ctx.Done():
			return q
		case <-time.After(time.Second):
		}
	}
}

// afterSend posts the after-send callback of an accepted message; ctx must outlive the sender's
// wait (Tencent sends it after delivering).
func (g *loadgen) afterSend(ctx context.Context, m tim.C2CMsgCallback) {
	m.CallbackCommand = tim.CmdC2CAfterSendMsg
	m.EventTime = time.Now().UnixMilli()
	if _, err := g.callback(ctx, tim.CmdC2CAfterSendMsg, m); err != nil {
		g.mu.Lock()
		g.afterFail++
		g.mu.Unlock()
	}
}

// waitAnswer waits until q has a reply or timeout passes.
func (g *loadgen) waitAnswer(ctx context.Context, customer string, q *question, timeout time.Duration) bool {
	c := g.customer(customer)
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		g.mu.Lock()
		done := q.answers > 0
		g.mu.Unlock()
		if done {
			return true
		}
		select {
		case <-c.notify:
		case <-deadline.C:
			return false
		case <-ctx.Done():
			return false
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// message is a new customer message as Tencent reports it (a resend is a new message).
func (g *loadgen) message(customer, text string) tim.C2CMsgCallback {
	seq := g.seq.Add(1)
	rnd := seq*2654435761 + 12345
	now := time.Now()
	return tim.C2CMsgCallback{
		CallbackCommand: tim.CmdC2CBeforeSendMsg,
		FromAccount:     customer,
		ToAccount:       g.service,
		MsgSeq:          seq,
		MsgRandom:       rnd,
		MsgTime:         now.Unix(),
		MsgKey:          fmt.Sprintf("%d_%d_%d", seq, rnd, now.Unix()),
		MsgBody:         tim.MsgBody{tim.TextElem(text)},
		EventTime:       now.UnixMilli(),
	}
}

// callback posts one signed callback and returns the answer's ErrorCode; err is a failed
// callback in Tencent's sense (transport, timeout, HTTP status, not JSON).
func (g *loadgen) callback(ctx context.Context, command string, m tim.C2CMsgCallback) (int, error) {
	body, err := json.Marshal(m)
	if err != nil {
		return 0, err
	}
	rt := time.Now().Unix()
	q := url.Values{
		"SdkAppid":        {strconv.FormatUint(g.appID, 10)},
		"CallbackCommand": {command},
		"contenttype":     {"json"},
		"ClientIP":        {"127.0.0.1"},
		"OptPlatform":     {"iOS"},
		"RequestTime":     {strconv.FormatInt(rt, 10)},
		"Sign":            {tim.CallbackSign(g.token, rt)},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, g.callbackURL+"?"+q.Encode(), bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := g.http.Do(req)
	if err != nil {
		return 0, fmt.Errorf("post callback: %w", err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("callback: HTTP %d: %s", resp.StatusCode, b)
	}
	var r tim.CallbackResponse
	if err := json.Unmarshal(b, &r); err != nil {
		return 0, fmt.Errorf("callback answer: %w", err)
	}
	return r.ErrorCode, nil
}

// loadResult summarises one run.
type loadResult struct {
	asked, accepted, answered int
	duplicates, missing       int
	// resendAnswers are extra answers to a message the customer resent after a refusal whose
	// signal had landed anyway (see question.uncertain): two messages to timdesk, not duplicates.
	resendAnswers             int
	unanswered                []string // a few missing questions, for the report
	refused, afterFail, other int
	otherText                 []string
	elapsed                   time.Duration // first question to last answer
	ackP50, ackP99            time.Duration
	answerP50, answerP99      time.Duration
}

// rate is answers per second over the run.
func (r loadResult) rate() float64 {
	if r.elapsed <= 0 {
		return 0
	}
	return float64(r.answered) / r.elapsed.Seconds()
}

// result tallies every question asked so far.
func (g *loadgen) result() loadResult {
	g.mu.Lock()
	defer g.mu.Unlock()
	r := loadResult{refused: g.refused, afterFail: g.afterFail, other: g.other, otherText: slices.Clone(g.otherText)}
	var first, last time.Time
	var lat []time.Duration
	for id, c := range g.customers {
		for _, q := range c.questions {
			r.asked++
			if q.accepted {
				r.accepted++
			}
			if first.IsZero() || q.start.Before(first) {
				first = q.start
			}
			switch {
			case q.answers > 0:
				r.answered++
				extra := q.answers - 1
				r.resendAnswers += min(extra, q.uncertain)
				r.duplicates += max(0, extra-q.uncertain)
				lat = append(lat, q.answeredAt.Sub(q.start))
				if q.answeredAt.After(last) {
					last = q.answeredAt
				}
			case q.accepted:
				r.missing++
				if len(r.unanswered) < 5 {
					r.unanswered = append(r.unanswered, fmt.Sprintf("%s: %q", id, q.text))
				}
			}
		}
	}
	r.elapsed = last.Sub(first)
	r.ackP50, r.ackP99 = percentile(g.acks, 50), percentile(g.acks, 99)
	r.answerP50, r.answerP99 = percentile(lat, 50), percentile(lat, 99)
	return r
}

// outstanding is the number of accepted questions without an answer.
func (g *loadgen) outstanding() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	n := 0
	for _, c := range g.customers {
		for _, q := range c.questions {
			if q.accepted && q.answers == 0 {
				n++
			}
		}
	}
	return n
}

// drain waits until every accepted question is answered, or nothing moved for idle, or max passed.
func (g *loadgen) drain(max, idle time.Duration) {
	deadline := time.Now().Add(max)
	last, lastChange := g.outstanding(), time.Now()
	for last > 0 && time.Now().Before(deadline) && time.Since(lastChange) < idle {
		time.Sleep(200 * time.Millisecond)
		if n := g.outstanding(); n != last {
			last, lastChange = n, time.Now()
		}
	}
}

// percentile is the p-th percentile (nearest rank) of ds, 0 when empty.
func percentile(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := (len(s)*p + 99) / 100
	if i < 1 {
		i = 1
	}
	return s[i-1]
}

// closedLoop: each customer asks its questions one after the other, waiting (up to wait) for
// each answer before the next.
func (g *loadgen) closedLoop(ctx context.Context, customers []string, questions func(customer string, i int) (text, answer string), n int, wait time.Duration) {
	var wg sync.WaitGroup
	for _, c := range customers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range n {
				if ctx.Err() != nil {
					return
				}
				text, answer := questions(c, i)
				q := g.ask(ctx, c, text, answer)
				g.waitAnswer(ctx, c, q, wait)
				if g.think > 0 {
					time.Sleep(g.think)
				}
			}
		}()
	}
	wg.Wait()
}

// openLoop starts rate new customers a second for d, each asking one question, without waiting
// for anything; it returns once every question was accepted (or ctx ended).
func (g *loadgen) openLoop(ctx context.Context, prefix string, rate int, d time.Duration, question func(i int) (text, answer string)) {
	var wg sync.WaitGroup
	interval := time.Second / time.Duration(rate)
	start := time.Now()
	total := int(d / interval)
	for i := range total {
		if wait := time.Until(start.Add(time.Duration(i) * interval)); wait > 0 {
			time.Sleep(wait)
		}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			text, answer := question(i)
			g.ask(ctx, fmt.Sprintf("%s%05d", prefix, i), text, answer)
		}()
	}
	wg.Wait()
}
