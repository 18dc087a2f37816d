package tim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// callbackFieldNames are the JSON names the callback decoders read and timdesk acts on (top
// level, Info, MsgBody elements, a text element's content, GroupAtInfo entries). Informational
// fields (MsgId, ErrorInfo, Reason, ...) are left out: a spelling Tencent may change there
// must not refuse every callback.
var callbackFieldNames = []string{
	"CallbackCommand", "From_Account", "To_Account", "MsgSeq", "MsgRandom", "MsgTime", "MsgKey",
	"OnlineOnlyFlag", "MsgBody", "CloudCustomData", "EventTime", "SendMsgResult", "Info", "Action",
	"GroupId", "Operator_Account", "Random", "GroupAtInfo", "GroupAtAllFlag", "GroupAt_Account",
	"MsgType", "MsgContent", "Text",
}

// knownFields maps a folded name to its spelling.
var knownFields = func() map[string]string {
	m := make(map[string]string, len(callbackFieldNames))
	for _, n := range callbackFieldNames {
		m[foldKey(n)] = n
	}
	return m
}()

// foldKey folds a JSON object key the way encoding/json matches keys to fields (Unicode simple
// case folding: "from_account", "FROM_ACCOUNT" and "MſgKey" all find their field).
func foldKey(k string) string { return strings.ToLower(strings.ToUpper(k)) }

// checkKeys refuses a callback body in which one object holds a key twice, in any letter case,
// or a key that spells a field the decoders read in other letter case. encoding/json matches keys
// ignoring case and keeps the last, while Tencent's names are case-sensitive: {"From_Account":
// "agent_li","FROM_ACCOUNT":"alice"} reads as alice here and as the agent to any strict reader (a
// proxy, a log pipeline). Keys are compared inside MsgContent too; letter case is not checked
// there (element payloads are Tencent's, passed on as they are). Syntax errors are left to the
// decoder. The error names the field by its known spelling, never echoing an unknown key.
func checkKeys(body []byte) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	return walkKeys(dec, "", true)
}

// walkKeys reads one JSON value; path names it ("" the body), strict checks the letter case of
// known keys in its objects.
func walkKeys(dec *json.Decoder, path string, strict bool) error {
	tok, err := dec.Token()
	if err != nil {
		return nil // a syntax error is the decoder's to report
	}
	switch tok {
	case json.Delim('{'):
		seen := map[string]bool{}
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return nil // as above
			}
			key, _ := kt.(string)
			fold := foldKey(key)
			known, isKnown := knownFields[fold]
			name := path + "." + known
			if !isKnown {
				name = path + ".<other key>"
			}
			name = strings.TrimPrefix(name, ".")
			switch {
			case seen[fold]:
				return &FieldError{Field: name, Problem: "given twice (keys match ignoring letter case)"}
			case strict && isKnown && key != known:
				return &FieldError{Field: name, Problem: "spelt in other letter case"}
			}
			seen[fold] = true
			if err := walkKeys(dec, name, strict && known != "MsgContent"); err != nil {
				return err
			}
		}
		_, _ = dec.Token() // '}'
	case json.Delim('['):
		for i := 0; dec.More(); i++ {
			if err := walkKeys(dec, fmt.Sprintf("%s[%d]", path, i), strict); err != nil {
				return err
			}
		}
		_, _ = dec.Token() // ']'
	}
	return nil
}
