// A line edit for one number of the run config. Unlike QDoubleSpinBox it keeps
// every digit (3e-4, 0.12345 round-trip exactly through YAML) and reads
// scientific notation. Text that is not a number in range is marked red and
// ignored (validityChanged(false) tells the window, which blocks Start);
// leaving the field restores the last good value and says why (reverted()).
#pragma once

#include <QLineEdit>

namespace droplora::ui {

class NumberEdit : public QLineEdit {
    Q_OBJECT

public:
    enum class Kind { Real, Integer };

    explicit NumberEdit(Kind kind = Kind::Real, QWidget* parent = nullptr);

    // Accepted values: minimum ≤ v ≤ maximum (or < maximum when maxExclusive).
    void setRange(double minimum, double maximum, bool maxExclusive = false);
    double value() const { return m_value; }
    qint64 intValue() const { return m_intValue; }  // exact for Kind::Integer (all 64 bits)
    void setValue(double value);
    void setIntValue(qint64 value);
    bool isTextValid() const { return m_textValid; }
    // Why the current text is not accepted ("… is not a number from 0 to 10"); empty when it is.
    QString problem() const;
    // The field's name in messages ("Learning rate"); set by the panel's form.
    void setLabel(const QString& label) { m_label = label; }
    QString label() const { return m_label; }

signals:
    void valueChanged(double value);
    void validityChanged(bool valid);
    // Leaving the field put back the last good value; `why` names the field, the text and the range.
    void reverted(const QString& why);

private:
    bool parse(const QString& text, double* out, qint64* outInt) const;
    void onTextEdited(const QString& text);
    void onEditingFinished();
    void setTextValid(bool valid);

    Kind m_kind;
    double m_min;
    double m_max;
    bool m_maxExclusive = false;
    double m_value = 0;
    qint64 m_intValue = 0;
    bool m_textValid = true;
    QString m_label;
    QString m_rangeText;
};

}  // namespace droplora::ui
