package tasks

// SetProgress exposes setProgress to the tests.
func SetProgress(j *Job, stage string, pct int, msg string) { j.setProgress(stage, pct, msg) }
