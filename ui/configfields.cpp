#include "configfields.h"

#include <QComboBox>
#include <QSpinBox>
#include <QString>

#include <cmath>
#include <limits>

#include "config/run_config.h"
#include "numberedit.h"

namespace droplora::ui {

namespace {

droplora::config::FieldRange rangeOf(const char* key) {
    const auto r = droplora::config::range(key);
    Q_ASSERT_X(r.has_value(), "setRangeOf", key);  // a key the schema has no bounds for is a programming error
    return r.value_or(droplora::config::FieldRange{0, std::numeric_limits<double>::infinity()});
}

}  // namespace

void addChoices(QComboBox* combo, const char* key) {
    const auto& values = droplora::config::choices(key);
    Q_ASSERT_X(!values.empty(), "addChoices", key);
    for (const std::string& v : values) combo->addItem(QString::fromStdString(v));
}

void setRangeOf(NumberEdit* edit, const char* key) {
    const auto r = rangeOf(key);
    const double lo = r.min_exclusive ? std::nextafter(r.min, std::numeric_limits<double>::infinity()) : r.min;
    const double hi = std::isinf(r.max) ? std::numeric_limits<double>::max() : r.max;
    edit->setRange(lo, hi, r.max_exclusive);
}

void setRangeOf(QSpinBox* spin, const char* key) {
    const auto r = rangeOf(key);
    constexpr double kIntMax = std::numeric_limits<int>::max();
    const double lo = r.min_exclusive ? std::floor(r.min) + 1 : std::ceil(r.min);
    const double hi = std::isinf(r.max) || r.max > kIntMax ? kIntMax : (r.max_exclusive ? std::ceil(r.max) - 1 : r.max);
    spin->setRange(static_cast<int>(lo), static_cast<int>(hi));
}

}  // namespace droplora::ui
