#include "numberedit.h"

#include <QLocale>
#include <cmath>
#include <limits>

#include "formatting.h"

namespace droplora::ui {

NumberEdit::NumberEdit(Kind kind, QWidget* parent)
    : QLineEdit(parent),
      m_kind(kind),
      m_min(-std::numeric_limits<double>::max()),
      m_max(std::numeric_limits<double>::max()) {
    setText(QStringLiteral("0"));
    connect(this, &QLineEdit::textEdited, this, &NumberEdit::onTextEdited);
    connect(this, &QLineEdit::editingFinished, this, &NumberEdit::onEditingFinished);
}

void NumberEdit::setRange(double minimum, double maximum, bool maxExclusive) {
    m_min = minimum;
    m_max = maximum;
    m_maxExclusive = maxExclusive;
    m_rangeText = QStringLiteral("from %1 to %2").arg(formatNumber(minimum), formatNumber(maximum));
    if (maxExclusive) m_rangeText += QStringLiteral(" (exclusive)");
    setToolTip(m_rangeText);
}

void NumberEdit::setValue(double value) {
    if (m_kind == Kind::Integer) return setIntValue(static_cast<qint64>(value));
    m_value = value;
    m_intValue = static_cast<qint64>(value);
    setText(formatNumber(value));
    setTextValid(true);
}

void NumberEdit::setIntValue(qint64 value) {
    m_intValue = value;
    m_value = static_cast<double>(value);
    setText(QString::number(value));
    setTextValid(true);
}

bool NumberEdit::parse(const QString& text, double* out, qint64* outInt) const {
    bool ok = false;
    const QString t = text.trimmed();
    double v = 0;
    qint64 i = 0;
    if (m_kind == Kind::Integer) {
        i = QLocale::c().toLongLong(t, &ok);
        v = static_cast<double>(i);
    } else {
        v = QLocale::c().toDouble(t, &ok);
        i = static_cast<qint64>(v);
    }
    if (!ok || !std::isfinite(v) || v < m_min || v > m_max || (m_maxExclusive && v >= m_max)) return false;
    *out = v;
    *outInt = i;
    return true;
}

void NumberEdit::onTextEdited(const QString& text) {
    double v = 0;
    qint64 i = 0;
    if (!parse(text, &v, &i)) return setTextValid(false);
    setTextValid(true);
    if (v != m_value || i != m_intValue) {
        m_value = v;
        m_intValue = i;
        emit valueChanged(v);
    }
}

QString NumberEdit::problem() const {
    if (m_textValid) return {};
    const QString what = m_label.isEmpty() ? tr("this field") : m_label;
    const QString kind = m_kind == Kind::Integer ? tr("a whole number") : tr("a number");
    if (m_rangeText.isEmpty()) return tr("%1: '%2' is not %3").arg(what, text().trimmed(), kind);
    return tr("%1: '%2' is not %3 %4").arg(what, text().trimmed(), kind, m_rangeText);
}

void NumberEdit::onEditingFinished() {
    if (m_textValid) return;
    const QString why = problem();
    if (m_kind == Kind::Integer) setIntValue(m_intValue);
    else setValue(m_value);
    emit reverted(tr("%1; kept %2").arg(why, text()));
}

void NumberEdit::setTextValid(bool valid) {
    const bool changed = valid != m_textValid;
    m_textValid = valid;
    setStyleSheet(valid ? QString() : QStringLiteral("QLineEdit { border: 1px solid #d03030; }"));
    if (!m_rangeText.isEmpty() || !valid) setToolTip(valid ? m_rangeText : problem());
    if (changed) emit validityChanged(valid);
}

}  // namespace droplora::ui
