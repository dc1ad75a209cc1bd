package identity

// The level of assurance an assertion states follows from the methods
// that established it (its amr), by this table (docs/security.md):
//
//	amr                    eIDAS LoA      Decree 69/2024/NĐ-CP level
//	pa, aa                 low            none
//	pa, aa, registry       substantial    1
//	+ holder binding       high           2
//
// Passive and Active Authentication prove a genuine, uncloned chip, not
// that the person presenting it is its holder: anyone holding the card
// can read it. A match with the population registry confirms the
// identity data against the national database, which Decree 69/2024/NĐ-CP
// requires for a level 1 electronic identification. Level 2, and eIDAS
// "high", need the holder bound to the card (a verified face image or the
// card's PIN), which Kyso does not perform yet: it never claims them.
func levelOf(amr []string) (loa, idLevel string) {
	registry := false
	for _, m := range amr {
		if m == "registry" {
			registry = true
		}
	}
	if registry {
		return LoASubstantial, "1"
	}
	return LoALow, ""
}
