#include "datasetpreview.h"

#include <QByteArray>
#include <QObject>
#include <QRegularExpression>
#include <optional>

#include "data/tokenizer.h"

namespace droplora::ui {

namespace {

// Two shades per class, alternating per token so the boundaries are visible.
const char* const kPromptShades[2] = {"#e3e8f0", "#c9d3e2"};
const char* const kResponseShades[2] = {"#c8ecc9", "#9fd8a2"};
const char* const kSpecialColour = "#ffe0b2";

// Escaped text that keeps its spaces and shows line breaks.
QString escapeVisible(const QString& text) {
    QString html = text.toHtmlEscaped();
    html.replace(QLatin1Char('\n'), QStringLiteral("↵<br>"));
    html.replace(QLatin1Char('\t'), QStringLiteral("→"));
    return html;
}

QString span(const QString& html, const char* background, bool bold = false) {
    return QStringLiteral("<span style=\"background-color:%1;%2\">%3</span>")
        .arg(QLatin1String(background), bold ? QStringLiteral("font-weight:bold;") : QString(), html);
}

QString block(const QString& header, const QString& body) {
    return QStringLiteral("<p style=\"margin-top:8px; margin-bottom:2px; color:#455a64;\"><b>%1</b></p>"
                          "<div style=\"white-space:pre-wrap; font-family:monospace;\">%2</div>")
        .arg(header, body);
}

std::optional<char> bytePiece(const std::string& piece) {
    static const QRegularExpression re(QStringLiteral("^<0x([0-9A-Fa-f]{2})>$"));
    const auto m = re.match(QString::fromStdString(piece));
    if (!m.hasMatch()) return std::nullopt;
    return static_cast<char>(m.captured(1).toInt(nullptr, 16));
}

}  // namespace

QString previewLegendHtml(bool trainOnPrompt) {
    return QStringLiteral("<p>%1 %2 %3 &nbsp; <span style=\"color:#607d8b;\">%4</span></p>")
        .arg(span(QStringLiteral(" prompt "), kPromptShades[1]), span(QStringLiteral(" response "), kResponseShades[1]),
             span(QStringLiteral(" BOS/EOS "), kSpecialColour, true),
             trainOnPrompt ? QObject::tr("prompt and response count in the loss")
                           : QObject::tr("only the response counts in the loss"));
}

QString tokensHtml(const droplora::data::Example& example, const droplora::data::Tokenizer& tokenizer) {
    QString body;
    int64_t counted = 0;
    int shade = 0;
    QByteArray pendingBytes;  // consecutive byte pieces form one UTF-8 sequence
    bool pendingResponse = false;
    const auto flushBytes = [&] {
        if (pendingBytes.isEmpty()) return;
        const auto& shades = pendingResponse ? kResponseShades : kPromptShades;
        body += span(escapeVisible(QString::fromUtf8(pendingBytes)), shades[shade++ % 2]);
        pendingBytes.clear();
    };
    for (size_t i = 0; i < example.input_ids.size(); ++i) {
        const int64_t id = example.input_ids[i];
        const bool response = example.labels[i] != droplora::data::kIgnoreIndex;
        counted += response ? 1 : 0;
        const std::string piece = tokenizer.id_to_piece(id);
        if (auto byte = bytePiece(piece)) {
            if (pendingBytes.isEmpty()) pendingResponse = response;
            pendingBytes.append(*byte);
            continue;
        }
        flushBytes();
        if (id == tokenizer.bos_id() || id == tokenizer.eos_id()) {
            body += span(QString::fromStdString(piece).toHtmlEscaped(), kSpecialColour, true);
            continue;
        }
        QString text = QString::fromStdString(piece);
        text.replace(QChar(0x2581), QLatin1Char(' '));  // sentencepiece's "▁" marks a space
        const auto& shades = response ? kResponseShades : kPromptShades;
        body += span(escapeVisible(text), shades[shade++ % 2]);
    }
    flushBytes();
    QString header = QStringLiteral("%1 — %2 tokens, %3 in the loss")
                         .arg(QString::fromStdString(example.source).toHtmlEscaped())
                         .arg(example.input_ids.size())
                         .arg(counted);
    if (example.truncated) header += QObject::tr(" (truncated at max_seq_len)");
    return block(header, body);
}

QString segmentsHtml(const QString& source, const std::vector<droplora::data::Segment>& segments) {
    QString body;
    for (const auto& seg : segments) {
        if (seg.bos_before) body += span(QStringLiteral("&lt;s&gt;"), kSpecialColour, true);
        body += span(escapeVisible(QString::fromStdString(seg.text)),
                     seg.is_response ? kResponseShades[1] : kPromptShades[0]);
        if (seg.eos_after) body += span(QStringLiteral("&lt;/s&gt;"), kSpecialColour, true);
    }
    return block(source.toHtmlEscaped() + QObject::tr(" — text segments (choose a model to see its tokens)"), body);
}

}  // namespace droplora::ui
