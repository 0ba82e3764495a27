package api

import (
	"errors"
	"log/slog"
	"math"
	"net/http"
	"net/netip"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"whistlegrid/access"
	"whistlegrid/auth"
	"whistlegrid/fault"
)

const scopeKey = "whistlegrid.scope"

// requireToken authenticates `Authorization: Bearer <token>` and puts the
// caller's scope on the context; without a valid token it answers 401.
func (s *Server) requireToken(c *gin.Context) {
	tok := bearer(c.Request)
	if tok == "" {
		s.fail(c, fault.New(fault.Unauthorized, "an Authorization: Bearer <token> header is required; log in at POST /api/v1/auth/login"))
		return
	}
	_, sc, err := s.auth.Authenticate(c.Request.Context(), tok)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.Set(scopeKey, sc)
	c.Next()
}

func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

// scope is the authenticated caller's jurisdiction.
func scope(c *gin.Context) access.Scope {
	v, _ := c.Get(scopeKey)
	sc, _ := v.(access.Scope)
	return sc
}

type loginRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

type loginUser struct {
	auth.User
	Jurisdiction auth.Jurisdiction `json:"jurisdiction"`
}

type loginResponse struct {
	Token string    `json:"token"`
	User  loginUser `json:"user"`
}

// login: POST /api/v1/auth/login {"username","password"} -> {"token","user"}
// (body at most 16 KiB). Failed logins are throttled per username and per
// client address (auth.Throttle): past a few, the next attempt must wait,
// and is answered 429 with Retry-After until then, even with the right
// password.
func (s *Server) login(c *gin.Context) {
	var req loginRequest
	if err := bindJSON(c, &req, `JSON {"username","password"}`); err != nil {
		s.fail(c, err)
		return
	}
	if req.Username == "" {
		s.fail(c, invalidParam("username", "username is required"))
		return
	}
	if req.Password == "" {
		s.fail(c, invalidParam("password", "password is required"))
		return
	}
	ctx := c.Request.Context()
	addr := clientAddr(c)
	att, refused, err := s.throttle.Begin(ctx, req.Username, addr)
	if refused != nil {
		s.log.WarnContext(ctx, "login throttled", slog.String("username", req.Username), slog.String("addr", addr),
			slog.String("by", refused.By), slog.Duration("wait", refused.Wait))
		c.Header("Retry-After", strconv.Itoa(int(math.Ceil(refused.Wait.Seconds()))))
	}
	if err != nil {
		s.fail(c, err)
		return
	}
	tok, u, _, err := s.auth.Login(ctx, req.Username, req.Password)
	if err != nil {
		if errors.Is(err, auth.ErrBadCredentials) {
			s.log.WarnContext(ctx, "login failed", slog.String("username", req.Username), slog.String("addr", addr),
				slog.Int("user_failures", att.UserFailures), slog.Int("addr_failures", att.AddrFailures))
		}
		s.fail(c, err)
		return
	}
	if err := s.throttle.Succeeded(ctx, att); err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, loginResponse{Token: tok, User: loginUser{User: u, Jurisdiction: u.Jurisdiction()}})
}

// clientAddr is the client's address for the login throttle: the
// connection's peer, or what a trusted proxy (Config.TrustedProxies) says
// it is; an IPv6 address is cut to its /64, which one host usually holds
// whole.
func clientAddr(c *gin.Context) string {
	ip := c.ClientIP()
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	a = a.Unmap()
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}

// logout: POST /api/v1/auth/logout (bearer) -> 204; the token is revoked.
func (s *Server) logout(c *gin.Context) {
	if err := s.auth.Logout(c.Request.Context(), bearer(c.Request)); err != nil {
		s.fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

// me: GET /api/v1/auth/me -> the caller's user and jurisdiction.
func (s *Server) me(c *gin.Context) {
	u, _, err := s.auth.Authenticate(c.Request.Context(), bearer(c.Request))
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, loginUser{User: u, Jurisdiction: u.Jurisdiction()})
}
