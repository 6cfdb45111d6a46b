package tasks

// SetProgress exposes setProgress to the tests.
func SetProgress(j *Job, stage string, pct int, msg string) { j.setProgress(stage, pct, msg) }

// SetKeep changes how many jobs a fabric's history keeps.
func (s *Store) SetKeep(n int) { s.keep = n }
