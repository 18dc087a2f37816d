package tim

import (
	"encoding/json"
	"testing"
)

func TestMsgElements(t *testing.T) {
	tests := []struct {
		name string
		elem MsgElement
		want string
	}{
		{"text", TextElem(`say "hi" <b>`), `{"MsgType":"TIMTextElem","MsgContent":{"Text":"say \"hi\" \u003cb\u003e"}}`},
		{"custom", CustomElem(`{"k":1}`, "push", "ext"), `{"MsgType":"TIMCustomElem","MsgContent":{"Data":"{\"k\":1}","Desc":"push","Ext":"ext"}}`},
		{"unknown type round-trips", MsgElement{MsgType: "TIMFutureElem", MsgContent: json.RawMessage(`{"A":[1,2],"B":"c"}`)}, `{"MsgType":"TIMFutureElem","MsgContent":{"A":[1,2],"B":"c"}}`},
	}
	for _, tt := range tests {
		got, err := json.Marshal(tt.elem)
		if err != nil || string(got) != tt.want {
			t.Errorf("%s:\n got %s\nwant %s", tt.name, got, tt.want)
		}
		var back MsgElement
		if err := json.Unmarshal(got, &back); err != nil {
			t.Fatal(err)
		}
		again, _ := json.Marshal(back)
		if string(again) != tt.want {
			t.Errorf("%s: round trip %s", tt.name, again)
		}
	}
	if txt, ok := TextElem("x").Text(); !ok || txt != "x" {
		t.Error("Text of a text elem")
	}
	if _, ok := CustomElem("d", "", "").Text(); ok {
		t.Error("Text of a custom elem")
	}
	if _, ok := (MsgElement{MsgType: MsgTypeText, MsgContent: json.RawMessage(`[`)}).Text(); ok {
		t.Error("Text of a malformed text elem")
	}
	if c, ok := CustomElem("d", "p", "e").Custom(); !ok || c.Data != "d" || c.Desc != "p" || c.Ext != "e" {
		t.Error("Custom")
	}
	if _, ok := TextElem("x").Custom(); ok {
		t.Error("Custom of a text elem")
	}
}

func TestMsgBodyText(t *testing.T) {
	tests := []struct {
		name string
		body MsgBody
		want string
	}{
		{"nil", nil, ""},
		{"no text", MsgBody{CustomElem("d", "", "")}, ""},
		{"one", MsgBody{TextElem("hello")}, "hello"},
		{"split around a face", MsgBody{TextElem("hello "), {MsgType: MsgTypeFace, MsgContent: json.RawMessage(`{"Index":1,"Data":"x"}`)}, TextElem("world")}, "hello world"},
	}
	for _, tt := range tests {
		if got := tt.body.Text(); got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, got, tt.want)
		}
	}
}
