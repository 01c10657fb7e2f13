// The form's choices and bounds, taken from the run file's schema
// (config::choices / config::range in backend/config/run_config.h), so every
// value the engine accepts is one the form offers, and the form refuses what
// the engine would refuse. One place for the panels to ask.
#pragma once

class QComboBox;
class QSpinBox;

namespace droplora::ui {

class NumberEdit;

// Appends the allowed values of a choice setting ("data.template", "adapter.mask", …).
void addChoices(QComboBox* combo, const char* key);
// The bounds of a number setting; an exclusive minimum (lr > 0) becomes the next
// number above it, an unbounded maximum the largest the widget holds.
void setRangeOf(NumberEdit* edit, const char* key);
void setRangeOf(QSpinBox* spin, const char* key);

}  // namespace droplora::ui
