package apiclient

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestProblemsAndBounds(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/problem":
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(http.StatusConflict)
			io.WriteString(w, `{"code":"credential-exists","detail":"already enrolled","status":409}`)
		case "/plain":
			w.WriteHeader(http.StatusBadGateway)
			io.WriteString(w, strings.Repeat("x", 500))
		case "/huge":
			w.Write(make([]byte, MaxResponse+10))
		case "/echo":
			if r.Header.Get("Authorization") != "Bearer tok" {
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			b, _ := io.ReadAll(r.Body)
			w.Write(b)
		}
	}))
	defer srv.Close()
	c := New(srv.URL+"/", srv.Client())
	ctx := context.Background()

	_, err := c.Do(ctx, Request{Method: "GET", Path: "/problem"}, 200)
	var pe *ProblemError
	if !errors.As(err, &pe) || pe.Status != 409 || pe.Code != "credential-exists" || Code(err) != "credential-exists" {
		t.Fatalf("problem: %v", err)
	}
	if _, err := c.Do(ctx, Request{Method: "GET", Path: "/plain"}, 200); !errors.As(err, &pe) || pe.Code != "" || len(pe.Detail) != 200 {
		t.Fatalf("plain error: %v", err)
	}
	if _, err := c.Do(ctx, Request{Method: "GET", Path: "/huge"}, 200); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("huge answer: %v", err)
	}
	var out map[string]string
	if err := c.JSON(ctx, "POST", "/echo", "tok", map[string]string{"a": "b"}, 200, &out); err != nil || out["a"] != "b" {
		t.Fatalf("echo: %v %v", out, err)
	}
	if err := c.JSON(ctx, "POST", "/echo", "", nil, 200, nil); Code(err) != "" || !errors.As(err, &pe) || pe.Status != 401 {
		t.Fatalf("no token: %v", err)
	}
}

func TestSignFileStreamsMultipart(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/sign/pdf" {
			http.NotFound(w, r)
			return
		}
		f, _, err := r.FormFile("file")
		if err != nil || r.FormValue("seal_id") != "s1" || r.FormValue("pin") != "" || r.FormValue("level") != "B-T" {
			w.WriteHeader(400)
			return
		}
		b, _ := io.ReadAll(f)
		w.Write(b)
	}))
	defer srv.Close()
	c := New(srv.URL, nil)
	out, err := c.SignPDF(context.Background(), Signer{Token: "t", SealID: "s1"}, "B-T", []byte("%PDF-1.7 x"))
	if err != nil || string(out) != "%PDF-1.7 x" {
		t.Fatalf("%q %v", out, err)
	}
	if _, err := c.SignFile(context.Background(), "docx", Signer{}, nil, "x", strings.NewReader("")); err == nil {
		t.Fatal("unknown kind accepted")
	}
}
