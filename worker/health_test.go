package main

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"go.temporal.io/sdk/client"
)

type fakeHealth struct{ err error }

func (f fakeHealth) CheckHealth(context.Context, *client.CheckHealthRequest) (*client.CheckHealthResponse, error) {
	return &client.CheckHealthResponse{}, f.err
}

func TestHealthHandler(t *testing.T) {
	tests := []struct {
		name     string
		path     string
		temporal error
		want     int
	}{
		{"alive", "/healthz", nil, http.StatusOK},
		{"alive while Temporal is down", "/healthz", errors.New("unavailable"), http.StatusOK},
		{"ready", "/readyz", nil, http.StatusOK},
		{"not ready while Temporal is down", "/readyz", errors.New("unavailable"), http.StatusServiceUnavailable},
		{"unknown path", "/metricz", nil, http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			healthHandler(fakeHealth{tt.temporal}, slog.New(slog.DiscardHandler)).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, tt.path, nil))
			if rec.Code != tt.want {
				t.Errorf("GET %s: HTTP %d, want %d (%s)", tt.path, rec.Code, tt.want, rec.Body)
			}
		})
	}
}
