package csc

import (
	"database/sql"

	"kyso/audit"
)

var errNoRows = sql.ErrNoRows

type auditEventT = audit.Event
