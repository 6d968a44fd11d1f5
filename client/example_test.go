package client_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"

	"github.com/polysock/polysock"
	"github.com/polysock/polysock/client"
	"github.com/polysock/polysock/server"
)

func ExampleDial() {
	// A server that greets each session and closes it.
	srv := server.New(func(s *server.Session) {
		s.Write(context.Background(), polysock.Text, []byte("hello, "+s.Protocol()))
		s.Close(4000+200, "done")
	}, &server.Options{Subprotocols: []string{"chat"}})
	hs := httptest.NewServer(srv)
	defer hs.Close()
	defer srv.Shutdown(context.Background())

	ctx := context.Background()
	c, err := client.Dial(ctx, "ws"+strings.TrimPrefix(hs.URL, "http"), &client.Options{Protocols: []string{"chat"}})
	if err != nil {
		fmt.Println(err)
		return
	}
	for {
		typ, data, err := c.Read(ctx)
		if err != nil {
			fmt.Println(err)
			break
		}
		fmt.Println(typ, string(data))
	}
	// Output:
	// text hello, chat
	// polysock: session closed with code 4200: done
}
