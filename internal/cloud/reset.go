package cloud

import "time"

// shanghai is Asia/Shanghai as a fixed UTC+8 zone: China has no daylight
// saving, and a fixed zone needs no tzdata on the host.
var shanghai = time.FixedZone("UTC+8", 8*60*60)

// NextDailyReset returns the next 00:00 Asia/Shanghai strictly after now:
// when the cloud's daily limits (codes sent per member) start afresh.
func NextDailyReset(now time.Time) time.Time {
	y, m, d := now.In(shanghai).Date()
	return time.Date(y, m, d+1, 0, 0, 0, 0, shanghai)
}
