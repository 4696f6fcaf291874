package fcapi

// Polls is how many polls for the next invocation s holds open.
func (s *Server) Polls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.polls
}
