// Chat/instruction templates (docs/formats.md §2): a Row becomes prompt and response
// segments. BOS/EOS are flags on the segments, never text, so tokenize() puts
// the real ids there whatever the tokenizer spells them as.
//
// alpaca   stanford_alpaca's PROMPT_DICT prompt, response = output + EOS. A
//          multi-turn chat repeats the instruction block for each user→assistant
//          pair, "### Instruction:\n{user}\n\n### Response:" after the first
//          pair's EOS (the preamble is said once). System text is prepended
//          plainly, followed by a blank line.
// llama2   "[INST] " + optional "<<SYS>>\n{system}\n<</SYS>>\n\n" + user + " [/INST]",
//          response " " + assistant + EOS; later turns start with BOS + "[INST] ".
// chatml   "<|im_start|>{role}\n{content}<|im_end|>\n" per message; an assistant's
//          content + "<|im_end|>" is the response (+ EOS), its "<|im_start|>assistant\n"
//          header is prompt. The newline after the last assistant message is left
//          out (it would only be an uncounted token at the very end).
// plain    prompt text, then the response text directly (completion style);
//          system text prepended plainly like alpaca.
// llama3   Meta Llama 3's: "<|start_header_id|>{role}<|end_header_id|>\n\n" + content
//          (stripped, as its template's | trim does) + "<|eot_id|>" per message; an
//          assistant's content + "<|eot_id|>" is the response, with no EOS id after
//          it (<|eot_id|> is the instruct models' end of turn). BOS comes from the
//          tokenizer's policy.
// model    the model's own chat template (see render_model below).
// A text-format row (a document) is one response segment + EOS in every template.
//
// For alpaca, llama2 and plain the conversation is grouped into turns: the
// system and user messages up to an assistant message, then that assistant
// message; consecutive messages of one role are joined by a blank line. A
// trailing turn without an assistant message is prompt only.
#include "data/dataset.h"

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "data/chat_template.h"

namespace droplora::data {
namespace {

struct Turn {
    std::string system;
    std::string user;
    std::string assistant;
    bool has_assistant = false;
    bool empty() const { return system.empty() && user.empty() && !has_assistant; }
};

void append_paragraph(std::string& to, const std::string& text) {
    if (!to.empty()) to += "\n\n";
    to += text;
}

std::vector<Turn> group_turns(const std::vector<Message>& messages) {
    std::vector<Turn> turns;
    Turn turn;
    for (const Message& m : messages) {
        if (m.role == "assistant") {
            append_paragraph(turn.assistant, m.content);
            turn.has_assistant = true;
            continue;
        }
        if (turn.has_assistant) {
            turns.push_back(std::move(turn));
            turn = Turn{};
        }
        append_paragraph(m.role == "system" ? turn.system : turn.user, m.content);
    }
    if (!turn.empty()) turns.push_back(std::move(turn));
    return turns;
}

Segment prompt(std::string text, bool bos_before = false) {
    return Segment{std::move(text), false, bos_before, false};
}

Segment response(std::string text) {
    return Segment{std::move(text), true, false, true};
}

std::string alpaca_prompt(const std::string& instruction, const std::string& input) {
    if (input.empty()) {
        return "Below is an instruction that describes a task. Write a response that appropriately completes the "
               "request.\n\n### Instruction:\n" +
               instruction + "\n\n### Response:";
    }
    return "Below is an instruction that describes a task, paired with an input that provides further context. "
           "Write a response that appropriately completes the request.\n\n### Instruction:\n" +
           instruction + "\n\n### Input:\n" + input + "\n\n### Response:";
}

std::string with_system(const std::string& system, const std::string& text) {
    return system.empty() ? text : system + "\n\n" + text;
}

std::vector<Segment> render_alpaca(const Row& row) {
    std::vector<Segment> out;
    const std::vector<Turn> turns = group_turns(row.messages);
    for (size_t i = 0; i < turns.size(); ++i) {
        const Turn& t = turns[i];
        std::string block;
        if (i == 0 && row.alpaca) {
            block = alpaca_prompt(row.instruction, row.input);
        } else if (i == 0) {
            block = alpaca_prompt(t.user, "");
        } else {
            block = "### Instruction:\n" + t.user + "\n\n### Response:";
        }
        out.push_back(prompt(with_system(t.system, block)));
        if (t.has_assistant) out.push_back(response(t.assistant));
    }
    return out;
}

std::vector<Segment> render_llama2(const Row& row) {
    std::vector<Segment> out;
    const std::vector<Turn> turns = group_turns(row.messages);
    for (size_t i = 0; i < turns.size(); ++i) {
        const Turn& t = turns[i];
        std::string text = "[INST] ";
        if (!t.system.empty()) text += "<<SYS>>\n" + t.system + "\n<</SYS>>\n\n";
        text += t.user + " [/INST]";
        out.push_back(prompt(std::move(text), i > 0));
        if (t.has_assistant) out.push_back(response(" " + t.assistant));
    }
    return out;
}

std::vector<Segment> render_chatml(const Row& row) {
    std::vector<Segment> out;
    std::string pending;  // prompt text not yet emitted
    for (const Message& m : row.messages) {
        if (m.role != "assistant") {
            pending += "<|im_start|>" + m.role + "\n" + m.content + "<|im_end|>\n";
            continue;
        }
        pending += "<|im_start|>assistant\n";
        out.push_back(prompt(std::move(pending)));
        out.push_back(response(m.content + "<|im_end|>"));
        pending = "\n";
    }
    if (!out.empty() && pending == "\n") pending.clear();
    if (!pending.empty()) out.push_back(prompt(std::move(pending)));
    return out;
}

// Python's str.strip() for the ASCII whitespace chat text has (the template
// strips Unicode whitespace too; the built-in does the same for these).
std::string stripped(const std::string& s) {
    const char* ws = " \t\n\r\f\v";
    const size_t b = s.find_first_not_of(ws);
    if (b == std::string::npos) return "";
    return s.substr(b, s.find_last_not_of(ws) - b + 1);
}

std::vector<Segment> render_llama3(const Row& row) {
    std::vector<Segment> out;
    std::string pending;
    for (const Message& m : row.messages) {
        pending += "<|start_header_id|>" + m.role + "<|end_header_id|>\n\n";
        if (m.role != "assistant") {
            pending += stripped(m.content) + "<|eot_id|>";
            continue;
        }
        out.push_back(prompt(std::move(pending)));
        out.push_back(Segment{stripped(m.content) + "<|eot_id|>", true, false, false});
        pending.clear();
    }
    if (!pending.empty()) out.push_back(prompt(std::move(pending)));
    return out;
}

nlohmann::ordered_json messages_json(const std::vector<Message>& messages, size_t n) {
    nlohmann::ordered_json out = nlohmann::ordered_json::array();
    for (size_t i = 0; i < n; ++i) out.push_back({{"role", messages[i].role}, {"content", messages[i].content}});
    return out;
}

// The whole conversation as apply_chat_template renders it; each assistant
// message's own tokens (ChatTemplate::render_spans) are response segments.
std::vector<Segment> render_model(const Row& row, const ChatTemplate& ct) {
    const ChatTemplate::Spans r = ct.render_spans(messages_json(row.messages, row.messages.size()));
    std::vector<Segment> out;
    size_t pos = 0;
    for (const auto& [begin, end] : r.assistant) {
        if (begin > pos) out.push_back(prompt(r.text.substr(pos, begin - pos)));
        if (end > begin) out.push_back(Segment{r.text.substr(begin, end - begin), true, false, false});
        pos = end;
    }
    if (r.text.size() > pos) out.push_back(prompt(r.text.substr(pos)));
    return out;
}

std::vector<Segment> render_plain(const Row& row) {
    std::vector<Segment> out;
    for (const Turn& t : group_turns(row.messages)) {
        const std::string text = with_system(t.system, t.user);
        if (!text.empty()) out.push_back(prompt(text));
        if (t.has_assistant) out.push_back(response(t.assistant));
    }
    return out;
}

}  // namespace

std::vector<Segment> render(const Row& row, Template t) {
    if (row.messages.empty()) return {response(row.text)};
    switch (t) {
        case Template::Alpaca:
            return render_alpaca(row);
        case Template::Llama2:
            return render_llama2(row);
        case Template::ChatML:
            return render_chatml(row);
        case Template::Plain:
            return render_plain(row);
        case Template::Llama3:
            return render_llama3(row);
        case Template::Model:
            fail(row.source, "the model template needs the model's chat template (RenderOptions)");
    }
    return {};
}

std::vector<Segment> render(const Row& row, const RenderOptions& opts) {
    if (opts.templ != Template::Model) return render(row, opts.templ);
    if (!opts.chat_template) fail(row.source, "data.template is model, but no chat template was loaded");
    if (row.messages.empty()) return {response(row.text)};
    return render_model(row, *opts.chat_template);
}

}  // namespace droplora::data
