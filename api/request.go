package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/url"
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
		return wrapError(codeInvalid, "malformed JSON body", err)
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
