package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"github.com/timdesk/timdesk/tim"
)

// decodeJSON strictly decodes the request body into v (one JSON value, no unknown fields).
// A body that is not UTF-8 is refused: the decoder would replace the bad bytes with U+FFFD and
// act on IDs and texts other than the ones sent.
func decodeJSON(c *fiber.Ctx, v any) error {
	if !utf8.Valid(c.Body()) {
		return newError(codeInvalid, "malformed JSON body: not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(c.Body()))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return wrapError(codeInvalid, jsonBodyProblem(err), err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return newError(codeInvalid, "malformed JSON body: trailing data")
	}
	return nil
}

// userIDParam reads and validates a path parameter holding a Tencent UserID.
func userIDParam(c *fiber.Ctx, name string) (string, error) {
	id, err := url.PathUnescape(c.Params(name))
	if err != nil {
		return "", wrapError(codeInvalid, "malformed "+name, err)
	}
	if err := tim.ValidateUserID(id); err != nil {
		return "", err
	}
	return id, nil
}

// jsonBodyProblem says what is wrong with a JSON body that did not decode, naming the field of a
// wrong-typed value or an unknown field (quoted, at most 40 bytes), never a value.
func jsonBodyProblem(err error) string {
	const prefix = "malformed JSON body: "
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.Is(err, io.EOF):
		return prefix + "empty"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return prefix + "not valid JSON (it ends early)"
	case errors.As(err, &se):
		return fmt.Sprintf("%snot valid JSON (at byte %d)", prefix, se.Offset)
	case errors.As(err, &te) && te.Field == "":
		return prefix + "not a JSON object"
	case errors.As(err, &te):
		return prefix + te.Field + " must be " + jsonKindOf(te.Type)
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		if unq, uerr := strconv.Unquote(name); uerr == nil {
			name = unq
		}
		if len(name) > 40 {
			name = name[:40] + "…"
		}
		return prefix + "unknown field " + strconv.Quote(strings.ToValidUTF8(name, "?"))
	}
	return strings.TrimSuffix(prefix, ": ")
}

// jsonKindOf names what a Go type takes from JSON.
func jsonKindOf(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Struct, reflect.Map:
		return "an object"
	}
	return "a number"
}
