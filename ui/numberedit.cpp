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
    QString tip = QStringLiteral("from %1 to %2").arg(formatNumber(minimum), formatNumber(maximum));
    if (maxExclusive) tip += QStringLiteral(" (exclusive)");
    setToolTip(tip);
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

void NumberEdit::onEditingFinished() {
    if (m_textValid) return;
    if (m_kind == Kind::Integer) setIntValue(m_intValue);
    else setValue(m_value);
}

void NumberEdit::setTextValid(bool valid) {
    m_textValid = valid;
    setStyleSheet(valid ? QString() : QStringLiteral("QLineEdit { border: 1px solid #d03030; }"));
}

}  // namespace droplora::ui
