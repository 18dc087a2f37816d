package workflows

// Change IDs of workflow.GetVersion live in this file, each explained where it is declared and at
// its call (see doc.go for the policy). Nothing is released yet, so there are none: workflow code
// changes freely and the replay histories in testdata are re-recorded (TestGenerateHistories).
// From the first release tag (CHANGELOG.md) on, every change of command order adds a const here,
// e.g.
//
//	// versionX: what the new branch does; which histories took the old one.
//	const versionX = "timdesk-x"
//
// and a history in replayHistories whose changes list it.
