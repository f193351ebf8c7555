package i18n

// Key names one message of the catalogue.
type Key string

// message is one message in both languages; the format verbs of the two
// agree in order and kind.
type message struct{ zh, en string }

// The owner page's words.
const (
	Brand          Key = "brand"
	Title          Key = "title"
	PhoneLabel     Key = "phone_label"
	Progress       Key = "progress"
	AccountLabel   Key = "account_label"
	EnterCode      Key = "enter_code"
	EnterCodeHint  Key = "enter_code_hint"
	CodeLabel      Key = "code_label"
	Submit         Key = "submit"
	ValidUntil     Key = "valid_until"
	WrongCode      Key = "wrong_code"
	Tried          Key = "tried"
	Checking       Key = "checking"
	CheckingHint   Key = "checking_hint"
	Waiting        Key = "waiting"
	NextSMSAt      Key = "next_sms_at"
	NextSMSSoon    Key = "next_sms_soon"
	AllDone        Key = "all_done"
	AllDoneHint    Key = "all_done_hint"
	SomeFailed     Key = "some_failed"
	Malformed      Key = "malformed"
	MalformedHint  Key = "malformed_hint"
	TooMany        Key = "too_many"
	TooManyHint    Key = "too_many_hint"
	NotWaiting     Key = "not_waiting"
	NotWaitingHint Key = "not_waiting_hint"
	TryAgain       Key = "try_again"
	TryAgainHint   Key = "try_again_hint"
	LinksOff       Key = "links_off"
	LinksOffHint   Key = "links_off_hint"
	BadLink        Key = "bad_link"
	BadLinkHint    Key = "bad_link_hint"
	LinkExpired    Key = "link_expired"
	LinkExpHint    Key = "link_expired_hint"
	LinkUsed       Key = "link_used"
	LinkUsedHint   Key = "link_used_hint"
	LinkFinished   Key = "link_finished"
	LinkFinHint    Key = "link_finished_hint"
	FormForeign    Key = "form_foreign"
	FormForeignHnt Key = "form_foreign_hint"
)

// The messages to owners (email, webhook and chat robots).
const (
	OwnerLinkSubject Key = "owner_link_subject"
	OwnerLinkBody    Key = "owner_link_body"
	ReminderSubject  Key = "reminder_subject"
	ReminderBody     Key = "reminder_body"
	DoneSubject      Key = "done_subject"
	DoneBody         Key = "done_body"
	OpenLink         Key = "open_link"
)

var catalogue = map[Key]message{
	Brand:          {"rdonboard", "rdonboard"},
	Title:          {"绑定安全手机", "Secure mobile phone"},
	PhoneLabel:     {"手机号", "Phone"},
	Progress:       {"已绑定 %d/%d 个账号", "%d of %d accounts bound"},
	AccountLabel:   {"当前账号", "Account now"},
	EnterCode:      {"请输入验证码", "Enter the code"},
	EnterCodeHint:  {"请输入本手机最新一条短信中的 6 位验证码。", "Type the 6-digit code from the latest SMS to this phone."},
	CodeLabel:      {"短信验证码", "Code from the SMS"},
	Submit:         {"提交", "Send code"},
	ValidUntil:     {"验证码有效期至 %s。", "The code is valid until %s."},
	WrongCode:      {"验证码不正确，请核对短信后重新输入。", "That code was not right. Check the SMS and type it again."},
	Tried:          {"本条短信已尝试 %d 次，最多 %d 次。", "Codes tried for this SMS: %d of %d."},
	Checking:       {"正在核验验证码…", "Checking your code…"},
	CheckingHint:   {"本页面会自动刷新。", "This page updates by itself."},
	Waiting:        {"请等待下一条短信", "Wait for the next SMS"},
	NextSMSAt:      {"下一条短信约于 %s 发出。本页面会自动刷新。", "The next SMS comes at about %s. This page updates by itself."},
	NextSMSSoon:    {"下一条短信即将发出。本页面会自动刷新。", "The next SMS comes shortly. This page updates by itself."},
	AllDone:        {"全部完成", "All done"},
	AllDoneHint:    {"此手机的所有账号都已处理完毕，您可以关闭本页面。", "Every account of this phone is finished. You can close this page."},
	SomeFailed:     {"有 %d 个账号未能绑定，管理员已收到通知，会与您联系。", "%d accounts could not be bound; the operator has been told and will contact you."},
	Malformed:      {"请输入 6 位验证码", "Enter the 6-digit code"},
	MalformedHint:  {"短信中的验证码为 6 位数字。", "The code in the SMS has 6 digits."},
	TooMany:        {"尝试次数过多", "Too many tries"},
	TooManyHint:    {"本条短信的验证码已尝试太多次。稍后会发送新的短信，请使用新的验证码。", "Too many codes were tried for this SMS. A new SMS will follow; use its code."},
	NotWaiting:     {"当前无需验证码", "No code is needed now"},
	NotWaitingHint: {"此手机目前没有账号在等待验证码。", "No account of this phone is waiting for a code right now."},
	TryAgain:       {"请稍后重试", "Please try again"},
	TryAgainHint:   {"暂时无法处理，请稍后刷新本页面。", "This could not be done right now. Reload the page in a moment."},
	LinksOff:       {"链接功能未开启", "Links are turned off"},
	LinksOffHint:   {"请向管理员询问如何提交验证码。", "Ask the operator how to hand in your code."},
	BadLink:        {"链接无效", "This link is not valid"},
	BadLinkHint:    {"请确认链接已完整复制，或向管理员索取新链接。", "Check that the whole link was copied, or ask the operator for a new one."},
	LinkExpired:    {"链接已过期", "This link has expired"},
	LinkExpHint:    {"链接的有效期已过，请向管理员索取新链接。", "The link is past its end. Ask the operator for a new one."},
	LinkUsed:       {"链接已作废", "This link has been replaced"},
	LinkUsedHint:   {"此链接属于较早的一轮验证，请向管理员索取本手机的新链接。", "It was for an earlier round of codes. Ask the operator for this phone's new link."},
	LinkFinished:   {"链接已失效", "This link is finished"},
	LinkFinHint:    {"此手机的所有账号都已处理完毕，无需再提交验证码。", "Every account of this phone is finished; no more codes are needed."},
	FormForeign:    {"请在本页面中提交", "Hand the code in on this page"},
	FormForeignHnt: {"该表单并非从本页面提交。请重新打开链接，在页面中输入验证码。", "The form did not come from this page. Open the link again and type the code there."},

	OwnerLinkSubject: {"请为 %d 个账号绑定安全手机", "Bind your phone to %d accounts"},
	OwnerLinkBody: {"您的手机 %s 将依次收到 %d 个账号的验证码短信，每次一条。请打开下面的链接，输入每条短信中的验证码：",
		"Your phone %s will get one SMS code at a time for %d accounts. Open the link below and type each code there:"},
	ReminderSubject: {"新的验证码已发送", "A new code was sent"},
	ReminderBody:    {"上一条验证码已过期，新的短信已发送到 %s。请打开链接输入新的验证码：", "The last code expired; a new SMS went to %s. Open the link and type the new code:"},
	DoneSubject:     {"安全手机绑定完成", "Secure phone binding finished"},
	DoneBody:        {"手机 %[1]s 的 %[2]d 个账号中已有 %[3]d 个绑定完成。", "Of the %[2]d accounts of phone %[1]s, %[3]d are bound."},
	OpenLink:        {"打开链接", "Open the link"},
}
