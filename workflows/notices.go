package workflows

import "fmt"

// notices are the fixed texts timdesk itself sends, per language. A language without a text
// gets the English one, translated by the LLM when translation is on.
var notices = map[string]map[string]string{
	"connecting": {
		"en": "Let me connect you with a member of our team. They will reply here shortly.",
		"zh": "正在为您转接人工客服，请稍候，客服会在这里回复您。",
	},
	"off_hours": {
		"en": "Our team is offline right now. The next shift starts at %s; your conversation is saved and an agent will reply then.",
		"zh": "客服目前不在线。下一班次开始于 %s，您的会话已保存，届时客服会回复您。",
	},
	"busy": {
		"en": "All our agents are busy at the moment. Please stay here; you are in the queue.",
		"zh": "所有客服正忙，请稍候，您已在排队中。",
	},
	"queue_position": {
		"en": "You are number %d in the queue.",
		"zh": "您当前排在第 %d 位。",
	},
	"back_to_ai": {
		"en": "You are chatting with our assistant again. Ask for a human at any time.",
		"zh": "您现在再次与智能助手对话，随时可以输入“人工”转接客服。",
	},
	"text_only": {
		"en": "Sorry, I can only read text messages. Please describe your question in words.",
		"zh": "抱歉，我只能识别文字消息，请用文字描述您的问题。",
	},
	"goodbye": {
		"en": "Thank you for contacting us. This conversation is now closed; message us any time.",
		"zh": "感谢您的咨询，本次会话已结束，如有需要随时联系我们。",
	},
	"goodbye_inactive": {
		"en": "We have not heard from you for a while, so this conversation is now closed. Message us any time.",
		"zh": "由于您长时间未回复，本次会话已结束。如有需要随时联系我们。",
	},
	"rating": {
		"en": "How did we do? Reply with a rating from 1 (poor) to 5 (excellent).",
		"zh": "请为本次服务打分：回复 1（很差）到 5（很好）。",
	},
	"rating_thanks": {
		"en": "Thank you for your rating!",
		"zh": "感谢您的评价！",
	},
	// agent-facing (prefixed with [timdesk])
	"handoff": {
		"en": "New consultation (%s) from customer %s (language: %s). Reason: %s.\nSummary: %s\nReply in this chat: timdesk delivers your reply to the customer (translated when translation is on). Commands: /close, /transfer <agentID>, /ai",
		"zh": "新会话（%s），客户 %s（语言：%s）。原因：%s。\n摘要：%s\n请直接在此回复，timdesk 会把您的回复转给客户（开启翻译时自动翻译）。命令：/close、/transfer <客服ID>、/ai",
	},
	"nudge": {
		"en": "The customer is waiting for your reply. Without a reply within %s the consultation goes to another agent.",
		"zh": "客户正在等待您的回复。%s 内未回复，会话将转给其他客服。",
	},
	"reassigned": {
		"en": "No reply in time (%s): this consultation was handed to another agent.",
		"zh": "未及时回复（%s）：该会话已转给其他客服。",
	},
	"transfer_invalid": {
		"en": "Cannot transfer: %s",
		"zh": "无法转接：%s",
	},
	"unknown_command": {
		"en": "Unknown command %q. Commands: /close, /transfer <agentID>, /ai",
		"zh": "未知命令 %q。可用命令：/close、/transfer <客服ID>、/ai",
	},
	"closed_agent": {
		"en": "This consultation is closed (%s).",
		"zh": "该会话已结束（%s）。",
	},
	"returned_to_ai": {
		"en": "The consultation went back to the AI assistant.",
		"zh": "该会话已交回智能助手。",
	},
}

// noticeText renders notice key in lang when it has that language, else in English; it returns
// the text and the language it is in.
func noticeText(key, lang string, args ...any) (string, string) {
	variants := notices[key]
	tmpl, ok := variants[lang]
	if !ok {
		lang, tmpl = "en", variants["en"]
	}
	if len(args) > 0 {
		return fmt.Sprintf(tmpl, args...), lang
	}
	return tmpl, lang
}

// rungLabels name the escalation rung in the agent's hand-off header.
var rungLabels = map[string]map[string]string{
	"assigned":   {"en": "assigned to you", "zh": "分配给您"},
	"supervisor": {"en": "escalated to you as supervisor", "zh": "作为主管升级给您"},
}

// rungLabel is the label of decision in lang (English, or the decision itself, otherwise).
func rungLabel(decision, lang string) string {
	if l, ok := rungLabels[decision][lang]; ok {
		return l
	}
	if l, ok := rungLabels[decision]["en"]; ok {
		return l
	}
	return decision
}
