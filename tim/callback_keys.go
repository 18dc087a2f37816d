package tim

import (
	"bytes"
	"encoding/json"
	"strconv"
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

// checkKeys refuses a callback body in which one object holds a key twice, in any letter case,
// or a key that spells a field the decoders read in other letter case. encoding/json matches keys
// ignoring case (Unicode simple folding: "from_account", "FROM_ACCOUNT" and "MſgKey" all find
// their field) and keeps the last, while Tencent's names are case-sensitive:
// {"From_Account":"agent_li","FROM_ACCOUNT":"alice"} reads as alice here and as the agent to any
// strict reader (a proxy, a log pipeline). Keys are compared inside MsgContent too; letter case is
// not checked there (element payloads are Tencent's, passed on as they are). The error names the
// field by its known spelling, never echoing an unknown key.
//
// It runs on every callback after json.Unmarshal accepted the body, so the body is valid JSON: a
// single pass over its bytes, keys compared in place (no token values, no per-key strings).
func checkKeys(body []byte) error {
	s := keyScan{b: body}
	if err := s.value(true); err != nil {
		return err // a nil *FieldError must not become a non-nil error
	}
	return nil
}

// keyScan walks a valid JSON text; keys holds the keys of the objects being read, innermost last.
type keyScan struct {
	b    []byte
	i    int
	keys [][]byte
}

// value reads one JSON value; strict checks the letter case of known keys in its objects.
func (s *keyScan) value(strict bool) *FieldError {
	s.space()
	if s.i >= len(s.b) {
		return nil
	}
	switch s.b[s.i] {
	case '{':
		return s.object(strict)
	case '[':
		return s.array(strict)
	case '"':
		s.str()
	default: // number, true, false, null
		for s.i < len(s.b) && !endsLiteral(s.b[s.i]) {
			s.i++
		}
	}
	return nil
}

func (s *keyScan) object(strict bool) *FieldError {
	s.i++ // '{'
	first := len(s.keys)
	defer func() { s.keys = s.keys[:first] }()
	for {
		s.space()
		if s.i >= len(s.b) || s.b[s.i] == '}' {
			s.i++
			return nil
		}
		if s.b[s.i] == ',' {
			s.i++
			continue
		}
		key := s.key()
		known := knownField(key)
		name := known
		if known == "" {
			name = "<other key>"
		}
		for _, prev := range s.keys[first:] {
			if bytes.EqualFold(prev, key) {
				return &FieldError{Field: name, Problem: "given twice (keys match ignoring letter case)"}
			}
		}
		if strict && known != "" && string(key) != known {
			return &FieldError{Field: name, Problem: "spelt in other letter case"}
		}
		s.keys = append(s.keys, key)
		s.space()
		s.i++ // ':'
		if err := s.value(strict && known != "MsgContent"); err != nil {
			err.Field = joinField(name, err.Field)
			return err
		}
	}
}

func (s *keyScan) array(strict bool) *FieldError {
	s.i++ // '['
	for n := 0; ; {
		s.space()
		if s.i >= len(s.b) || s.b[s.i] == ']' {
			s.i++
			return nil
		}
		if s.b[s.i] == ',' {
			s.i++
			continue
		}
		if err := s.value(strict); err != nil {
			err.Field = joinField("["+strconv.Itoa(n)+"]", err.Field)
			return err
		}
		n++
	}
}

// key reads an object key: its bytes in the body, or decoded when it holds escapes.
func (s *keyScan) key() []byte {
	start := s.i
	raw, escaped := s.str()
	if !escaped {
		return raw
	}
	var k string
	if json.Unmarshal(s.b[start:s.i], &k) != nil {
		return raw
	}
	return []byte(k)
}

// str reads a string at s.i (its opening quote) and returns its raw content.
func (s *keyScan) str() (raw []byte, escaped bool) {
	s.i++
	start := s.i
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case '\\':
			escaped = true
			s.i += 2
			continue
		case '"':
			s.i++
			return s.b[start : s.i-1], escaped
		}
		s.i++
	}
	return s.b[start:], escaped
}

// endsLiteral reports whether c ends a number or a literal.
func endsLiteral(c byte) bool {
	switch c {
	case ',', ']', '}', ' ', '\t', '\n', '\r':
		return true
	}
	return false
}

func (s *keyScan) space() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// callbackFieldBytes is callbackFieldNames as bytes, for knownField.
var callbackFieldBytes = func() [][]byte {
	out := make([][]byte, len(callbackFieldNames))
	for i, n := range callbackFieldNames {
		out[i] = []byte(n)
	}
	return out
}()

// knownField is the spelling of the field key names ignoring letter case, or "".
func knownField(key []byte) string {
	for i, n := range callbackFieldBytes {
		if bytes.EqualFold(key, n) {
			return callbackFieldNames[i]
		}
	}
	return ""
}

// joinField names a value inside the one named parent ("Info" + "Action", "MsgBody" + "[0]").
func joinField(parent, child string) string {
	if child == "" || child[0] == '[' {
		return parent + child
	}
	return parent + "." + child
}
