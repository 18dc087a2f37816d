package main

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/timdesk/timdesk/desk"
	"github.com/timdesk/timdesk/workflows"
)

// registerLanguageRoutes mounts the user language admin API.
func (s *server) registerLanguageRoutes(r adminRouter) {
	r.Put("/users/:userID/language", s.handleSetLanguage)
}

// languagePattern accepts BCP 47-style tags such as "en", "zh-CN", "pt-BR", "zh-Hant".
var languagePattern = regexp.MustCompile(`^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8}){0,3}$`)

// languageRequest is the body of PUT /api/v1/users/:userID/language.
type languageRequest struct {
	Language string `json:"language"`
}

// handleSetLanguage serves PUT /api/v1/users/:userID/language: stores the user's preferred
// language in the desk workflow ("" clears it); translation uses it at once.
func (s *server) handleSetLanguage(c *fiber.Ctx) error {
	userID, err := userIDParam(c, "userID")
	if err != nil {
		return err
	}
	var req languageRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	lang := strings.TrimSpace(req.Language)
	if lang != "" && !languagePattern.MatchString(lang) {
		return newError(codeInvalid, `language must be a language tag such as "en" or "zh-CN" (or "" to clear)`)
	}
	err = s.signalDesk(c.UserContext(), workflows.SignalLanguage, desk.LanguagePreference{UserID: userID, Language: lang})
	if err != nil {
		return temporalError(c.UserContext(), "desk workflow not found", fmt.Errorf("set language: %w", err))
	}
	s.langs.prefer(userID, lang)
	return c.JSON(fiber.Map{"userID": userID, "language": lang})
}
