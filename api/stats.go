package api

import "github.com/gin-gonic/gin"

// statsRoutes registers the statistics and the year-end assessment.
func (s *Server) statsRoutes(authed *gin.RouterGroup) {}
