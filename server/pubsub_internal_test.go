package server

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/polysock/polysock"
)

// A published message is not copied for each subscribed session: the sessions share the
// broker's message (which nothing modifies), so a publication to many sessions allocates
// a bounded number of times, not one copy per session. (The outboxes' own growth is
// amortized over the runs.)
func TestDeliverSharesTheMessage(t *testing.T) {
	const members = 100
	srv := New(func(*Session) {}, nil)
	ctx := context.Background()
	for range members {
		s, refused := srv.newSession(httptest.NewRequest(http.MethodGet, "/rt", nil), "", false)
		if refused != nil {
			t.Fatal(refused)
		}
		defer s.end(lostCarrier)
		if err := s.Subscribe(ctx, "t"); err != nil {
			t.Fatal(err)
		}
	}
	payload := make([]byte, 1024)
	allocs := testing.AllocsPerRun(50, func() {
		if err := srv.Publish(ctx, "t", polysock.Binary, payload); err != nil {
			t.Fatal(err)
		}
	})
	if allocs >= members/2 {
		t.Fatalf("a publication to %d sessions allocates %.0f times", members, allocs)
	}
}
