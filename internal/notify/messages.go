package notify

import "github.com/rdonboard/rdonboard/internal/i18n"

// Text is a message rendered for people: a subject and the lines of its
// body. URL is the owner link, kept apart so each channel can put it alone
// on a line (email text part) or make it a link (HTML, markdown).
type Text struct {
	Subject string
	Body    string
	URL     string
}

// Render words msg in the localizer's language. The body names the phone
// only masked, and never a code.
func Render(l i18n.Localizer, msg Message) Text {
	switch msg.Event {
	case Reminder:
		return Text{Subject: l.T(i18n.ReminderSubject), Body: l.T(i18n.ReminderBody, msg.Masked()), URL: msg.URL}
	case Done:
		return Text{Subject: l.T(i18n.DoneSubject), Body: l.T(i18n.DoneBody, msg.Masked(), msg.Accounts, msg.Bound)}
	}
	return Text{Subject: l.T(i18n.OwnerLinkSubject, msg.Accounts),
		Body: l.T(i18n.OwnerLinkBody, msg.Masked(), msg.Accounts), URL: msg.URL}
}

// plain is the text as one block: body, then the link alone on a line.
func (t Text) plain() string {
	if t.URL == "" {
		return t.Body
	}
	return t.Body + "\n\n" + t.URL + "\n"
}
