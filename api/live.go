package api

import "github.com/gin-gonic/gin"

// liveRoutes registers the live stream, the snapshot and the vector tiles.
func (s *Server) liveRoutes(r *gin.Engine, v1, authed *gin.RouterGroup) {}
