#include "adapterpanel.h"

#include <QCheckBox>
#include <QComboBox>
#include <QFormLayout>
#include <QGridLayout>
#include <QGroupBox>
#include <QLabel>
#include <QSignalBlocker>
#include <QSpinBox>
#include <algorithm>
#include <cmath>

#include "adapters/scaling.h"
#include "configfields.h"
#include "formatting.h"
#include "numberedit.h"
#include "pathedit.h"

namespace droplora::ui {

const QStringList& AdapterPanel::projections() {
    static const QStringList names = {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"};
    return names;
}

AdapterPanel::AdapterPanel(QWidget* parent)
    : QWidget(parent),
      m_method(new QComboBox(this)),
      m_rank(new QSpinBox(this)),
      m_alpha(new NumberEdit(NumberEdit::Kind::Real, this)),
      m_dropRate(new NumberEdit(NumberEdit::Kind::Real, this)),
      m_mask(new QComboBox(this)),
      m_rslora(new QCheckBox(tr("rsLoRA: scale alpha / √r"), this)),
      m_dropout(new NumberEdit(NumberEdit::Kind::Real, this)),
      m_initAdapter(new PathEdit(PathEdit::Mode::ExistingFolder, QStringLiteral("adapter"), this)),
      m_scaleNote(new QLabel(this)) {
    addChoices(m_method, "adapter.method");
    m_method->setToolTip(tr("droplora: LoRA with a random mask on the rank channels; lora: plain LoRA; "
                            "full: train every weight"));
    setRangeOf(m_rank, "adapter.rank");
    setRangeOf(m_alpha, "adapter.alpha");
    setRangeOf(m_dropRate, "adapter.drop_rate");
    m_dropRate->setToolTip(tr("Share of rank channels masked per step (0 is plain LoRA)"));
    addChoices(m_mask, "adapter.mask");
    m_mask->setToolTip(tr("step: one mask per optimizer step; token: one per token (nn.Dropout); "
                          "learned: straight-through mask logits"));
    setRangeOf(m_dropout, "adapter.dropout");
    m_initAdapter->setPlaceholderText(tr("optional: PEFT adapter folder to start from"));
    m_scaleNote->setStyleSheet(QStringLiteral("QLabel { color: #607d8b; }"));

    auto* targets = new QGroupBox(tr("Adapted projections"), this);
    auto* grid = new QGridLayout(targets);
    int i = 0;
    for (const QString& name : projections()) {
        auto* box = new QCheckBox(name, targets);
        m_targets.insert(name, box);
        grid->addWidget(box, i / 4, i % 4);
        connect(box, &QCheckBox::toggled, this, &AdapterPanel::changed);
        ++i;
    }

    auto* form = new QFormLayout(this);
    form->addRow(tr("Method"), m_method);
    form->addRow(tr("Rank r"), m_rank);
    form->addRow(tr("Alpha"), m_alpha);
    form->addRow(QString(), m_scaleNote);
    form->addRow(tr("Drop rate p"), m_dropRate);
    form->addRow(tr("Mask"), m_mask);
    form->addRow(targets);
    form->addRow(QString(), m_rslora);
    form->addRow(tr("Input dropout"), m_dropout);
    form->addRow(tr("Start from"), m_initAdapter);

    connect(m_method, &QComboBox::currentTextChanged, this, [this](const QString& method) {
        if (method == QLatin1String("lora")) {
            m_droploraRate = m_dropRate->value() > 0 ? m_dropRate->value() : m_droploraRate;
            m_dropRate->setValue(0);
        } else if (method == QLatin1String("droplora") && m_dropRate->value() == 0) {
            m_dropRate->setValue(m_droploraRate);
        }
        updateEnabled();
        emit changed();
    });
    connect(m_rank, &QSpinBox::valueChanged, this, [this] {
        updateScaleNote();
        emit changed();
    });
    connect(m_alpha, &NumberEdit::valueChanged, this, [this] {
        updateScaleNote();
        emit changed();
    });
    connect(m_rslora, &QCheckBox::toggled, this, [this] {
        updateScaleNote();
        emit changed();
    });
    connect(m_dropRate, &NumberEdit::valueChanged, this, &AdapterPanel::changed);
    connect(m_mask, &QComboBox::currentTextChanged, this, &AdapterPanel::changed);
    connect(m_dropout, &NumberEdit::valueChanged, this, &AdapterPanel::changed);
    connect(m_initAdapter, &PathEdit::pathChanged, this, &AdapterPanel::changed);

    setConfig(droplora::config::RunConfig{});
}

void AdapterPanel::setConfig(const droplora::config::RunConfig& config) {
    const auto& a = config.adapter;
    const QString method = QString::fromStdString(a.method);
    if (m_method->findText(method) < 0) m_method->addItem(method);
    {
        // The stored rate is the config's, not what the method switch would restore.
        const QSignalBlocker block(m_method);
        m_method->setCurrentText(method);
    }
    m_rank->setValue(static_cast<int>(a.rank));
    m_alpha->setValue(a.alpha);
    m_dropRate->setValue(a.drop_rate);
    if (a.drop_rate > 0) m_droploraRate = a.drop_rate;
    const QString mask = QString::fromStdString(a.mask);
    if (m_mask->findText(mask) < 0) m_mask->addItem(mask);
    m_mask->setCurrentText(mask);
    for (auto it = m_targets.begin(); it != m_targets.end(); ++it) {
        const bool on = std::find(a.targets.begin(), a.targets.end(), it.key().toStdString()) != a.targets.end();
        it.value()->setChecked(on);
    }
    m_rslora->setChecked(a.rslora);
    m_dropout->setValue(a.dropout);
    m_initAdapter->setPath(QString::fromStdString(a.init_adapter));
    updateEnabled();
    updateScaleNote();
    emit changed();
}

void AdapterPanel::applyTo(droplora::config::RunConfig& config) const {
    auto& a = config.adapter;
    a.method = m_method->currentText().toStdString();
    a.rank = m_rank->value();
    a.alpha = m_alpha->value();
    a.drop_rate = m_dropRate->value();
    a.mask = m_mask->currentText().toStdString();
    a.targets.clear();
    for (const QString& name : projections())
        if (m_targets.value(name)->isChecked()) a.targets.push_back(name.toStdString());
    a.rslora = m_rslora->isChecked();
    a.dropout = m_dropout->value();
    a.init_adapter = m_initAdapter->path().toStdString();
}

void AdapterPanel::updateEnabled() {
    const QString method = m_method->currentText();
    const bool adapter = method != QLatin1String("full");
    const bool drop = method == QLatin1String("droplora");
    for (QWidget* w : std::initializer_list<QWidget*>{m_rank, m_alpha, m_rslora, m_dropout, m_initAdapter})
        w->setEnabled(adapter);
    for (QCheckBox* box : m_targets) box->setEnabled(adapter);
    m_dropRate->setEnabled(drop);
    m_mask->setEnabled(drop);
}

void AdapterPanel::updateScaleNote() {
    const double r = m_rank->value();
    const double s = droplora::adapters::lora_scaling(m_alpha->value(), static_cast<int64_t>(r), m_rslora->isChecked());
    m_scaleNote->setText(tr("scale s = %1").arg(formatNumber(std::round(s * 1e4) / 1e4)));
}

}  // namespace droplora::ui
