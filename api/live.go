package api

import (
	"context"
	"errors"
	"log/slog"
	"strconv"

	"github.com/gin-gonic/gin"

	"whistlegrid/auth"
	"whistlegrid/fault"
	"whistlegrid/live"
)

// needLive answers 503 when the server has no hub.
func (s *Server) needLive(c *gin.Context) {
	if s.live == nil {
		s.fail(c, fault.New(fault.Unavailable, "the live map is not running on this server"))
	}
}

// liveStream: GET /api/v1/live?token=TOKEN[&since=SEQ][&township=CODE,...][&kinds=KIND,...]
// (websocket; the token may also come as Authorization: Bearer)
// -> one JSON text frame per event, {"seq","kind","at","township","data"},
// in seq order, each once: first the events after since (when given), then
// live ones. township limits to those townships (each must be in the
// caller's jurisdiction, else 404); kinds to those kinds or dotted
// prefixes (whistle.). data is masked by role. Close codes: 4001 the
// token was revoked (logout, on any instance) or expired, checked every
// live.Options.TokenCheck (log in again); 4008 too slow
// (reconnect with since=last seq received), 4009 since outside the kept
// history (reload the snapshot), 1001 server shutting down.
func (s *Server) liveStream(c *gin.Context) {
	tok := c.Query("token")
	if tok == "" {
		tok = bearer(c.Request)
	}
	if tok == "" {
		s.fail(c, fault.New(fault.Unauthorized, "a token is required: ?token=<token> or Authorization: Bearer <token>; log in at POST /api/v1/auth/login"))
		return
	}
	_, sc, err := s.auth.Authenticate(c.Request.Context(), tok)
	if err != nil {
		s.fail(c, err)
		return
	}
	if s.live == nil {
		s.fail(c, fault.New(fault.Unavailable, "the live stream is not running on this server"))
		return
	}
	sub := live.Subscription{Scope: sc, Since: live.FromNow, Token: auth.TokenHash(tok),
		Check: func(ctx context.Context) error { _, _, err := s.auth.Authenticate(ctx, tok); return err }}
	if v := c.Query("since"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			s.fail(c, invalidParam("since", "since must be an event seq, a whole number from 0"))
			return
		}
		sub.Since = n
	}
	if sub.Townships, err = live.ParseTownships(c.Query("township")); err != nil {
		s.fail(c, err)
		return
	}
	for _, t := range sub.Townships {
		if !townshipInScope(sc, t) {
			s.fail(c, fault.New(fault.NotFound, "township "+t+" is not in your jurisdiction"))
			return
		}
	}
	if sub.Kinds, err = live.ParseKinds(c.Query("kinds")); err != nil {
		s.fail(c, err)
		return
	}
	if err := s.live.Serve(c.Writer, c.Request, sub); err != nil {
		if errors.Is(err, live.ErrUnavailable) {
			s.fail(c, err)
			return
		}
		s.log.Debug("live: not served", slog.Any("err", err))
	}
}
