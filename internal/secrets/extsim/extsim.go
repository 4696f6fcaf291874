// Package extsim is a stand-in for the AWS Parameters and Secrets Lambda
// Extension's local HTTP API, for tests: GET /secretsmanager/get?secretId=…
// answered only with the function's session token in
// X-Aws-Parameters-Secrets-Token, in GetSecretValue's JSON shape.
package extsim

import (
	"encoding/json"
	"net/http"
	"sync"
)

// Server serves the secrets it holds to whoever sends its token.
type Server struct {
	token string
	mu    sync.Mutex
	vals  map[string]string
	reads map[string]int
}

// New returns a Server that answers requests carrying token.
func New(token string) *Server {
	return &Server{token: token, vals: map[string]string{}, reads: map[string]int{}}
}

// Put stores the secret id's SecretString.
func (s *Server) Put(id, value string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.vals[id] = value
}

// Reads reports how many times the secret id was served.
func (s *Server) Reads(id string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reads[id]
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet || r.URL.Path != "/secretsmanager/get" {
		http.NotFound(w, r)
		return
	}
	if r.Header.Get("X-Aws-Parameters-Secrets-Token") != s.token || s.token == "" {
		http.Error(w, "not authorized", http.StatusUnauthorized)
		return
	}
	id := r.URL.Query().Get("secretId")
	s.mu.Lock()
	v, ok := s.vals[id]
	if ok {
		s.reads[id]++
	}
	s.mu.Unlock()
	if !ok {
		http.Error(w, "ResourceNotFoundException: Secrets Manager can't find the specified secret.", http.StatusBadRequest)
		return
	}
	_ = json.NewEncoder(w).Encode(map[string]any{
		"ARN": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:" + id + "-AbCdEf", "Name": id,
		"SecretString": v, "VersionId": "v1", "VersionStages": []string{"AWSCURRENT"}, "CreatedDate": "2026-12-01T00:00:00Z",
	})
}
