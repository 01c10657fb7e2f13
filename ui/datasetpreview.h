// Rich-text preview of rendered training rows: what the model will see, with
// the tokens that count in the loss (the response) coloured apart from the
// prompt. Token boundaries show as alternating shades.
#pragma once

#include <QString>
#include <vector>

#include "data/dataset.h"

namespace droplora::data {
class Tokenizer;
}

namespace droplora::ui {

// The preview's colour key, as HTML.
QString previewLegendHtml(bool trainOnPrompt);

// One row tokenized: each id decoded through Tokenizer::id_to_piece ("▁" read
// as a space, <0xNN> byte pieces joined back into UTF-8). `example` comes from
// tokenize() with train_on_prompt off, so its labels tell response from prompt.
QString tokensHtml(const droplora::data::Example& example, const droplora::data::Tokenizer& tokenizer);

// One row without a tokenizer: the template's text segments.
QString segmentsHtml(const QString& source, const std::vector<droplora::data::Segment>& segments);

}  // namespace droplora::ui
