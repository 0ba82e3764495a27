package api

import "github.com/gin-gonic/gin"

// coverageRoutes registers the coverage review and grid edits.
func (s *Server) coverageRoutes(authed *gin.RouterGroup) {}
