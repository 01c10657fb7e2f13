#include "trainingpanel.h"

#include <QCheckBox>
#include <QComboBox>
#include <QFormLayout>
#include <QGroupBox>
#include <QSpinBox>
#include <QVBoxLayout>
#include <limits>
#include <utility>

#include "configfields.h"
#include "numberedit.h"
#include "pathedit.h"
#include "train/devices.h"

namespace droplora::ui {

namespace {

void selectText(QComboBox* combo, const std::string& value) {
    const QString text = QString::fromStdString(value);
    if (combo->findText(text) < 0) combo->addItem(text);  // e.g. "cuda" or a device this machine lacks
    combo->setCurrentText(text);
}

QFormLayout* group(const QString& title, QVBoxLayout* into, QWidget* parent) {
    auto* box = new QGroupBox(title, parent);
    auto* form = new QFormLayout(box);
    into->addWidget(box);
    return form;
}

}  // namespace

TrainingPanel::TrainingPanel(QWidget* parent)
    : QWidget(parent),
      m_maxSteps(new QSpinBox(this)),
      m_epochs(new NumberEdit(NumberEdit::Kind::Real, this)),
      m_batch(new QSpinBox(this)),
      m_gradAccum(new QSpinBox(this)),
      m_lr(new NumberEdit(NumberEdit::Kind::Real, this)),
      m_schedule(new QComboBox(this)),
      m_warmup(new QSpinBox(this)),
      m_weightDecay(new NumberEdit(NumberEdit::Kind::Real, this)),
      m_maxGradNorm(new NumberEdit(NumberEdit::Kind::Real, this)),
      m_seed(new NumberEdit(NumberEdit::Kind::Integer, this)),
      m_evalEvery(new QSpinBox(this)),
      m_saveEvery(new QSpinBox(this)),
      m_statsEvery(new QSpinBox(this)),
      m_logEvery(new QSpinBox(this)),
      m_gradientCheckpointing(new QCheckBox(tr("Gradient checkpointing (less memory, slower)"), this)),
      m_maxSeqLen(new QSpinBox(this)),
      m_valFraction(new NumberEdit(NumberEdit::Kind::Real, this)),
      m_device(new QComboBox(this)),
      m_precision(new QComboBox(this)),
      m_processes(new QSpinBox(this)),
      m_output(new PathEdit(PathEdit::Mode::AnyFolder, QStringLiteral("output"), this)) {
    for (auto [spinBox, key] : {std::pair{m_maxSteps, "train.max_steps"}, {m_batch, "train.batch_size"},
                                {m_gradAccum, "train.grad_accum"}, {m_warmup, "train.warmup_steps"},
                                {m_evalEvery, "train.eval_every"}, {m_saveEvery, "train.save_every"},
                                {m_statsEvery, "train.stats_every"}, {m_logEvery, "train.log_every"},
                                {m_maxSeqLen, "data.max_seq_len"}}) {
        setRangeOf(spinBox, key);
        spinBox->setGroupSeparatorShown(false);
    }
    m_maxSteps->setSpecialValueText(tr("0 (use epochs)"));
    setRangeOf(m_epochs, "train.epochs");
    setRangeOf(m_lr, "train.lr");
    m_lr->setToolTip(tr("Peak learning rate, e.g. 3e-4"));
    addChoices(m_schedule, "train.schedule");
    setRangeOf(m_weightDecay, "train.weight_decay");
    setRangeOf(m_maxGradNorm, "train.max_grad_norm");
    m_maxGradNorm->setToolTip(tr("0 = no clipping"));
    m_seed->setRange(static_cast<double>(std::numeric_limits<qint64>::min()),
                     static_cast<double>(std::numeric_limits<qint64>::max()));
    m_evalEvery->setSpecialValueText(tr("0 (at the end)"));
    m_saveEvery->setSpecialValueText(tr("0 (at the end / on stop)"));
    m_statsEvery->setSpecialValueText(tr("0 (off)"));
    setRangeOf(m_valFraction, "data.val_fraction");
    for (const std::string& d : droplora::train::available_devices()) m_device->addItem(QString::fromStdString(d));
    addChoices(m_precision, "precision");
    m_output->setPlaceholderText(tr("runs/my-run"));

    auto* layout = new QVBoxLayout(this);
    auto* length = group(tr("Length"), layout, this);
    length->addRow(tr("Max steps"), m_maxSteps);
    length->addRow(tr("Epochs"), m_epochs);
    length->addRow(tr("Batch size"), m_batch);
    length->addRow(tr("Grad accumulation"), m_gradAccum);
    auto* optimizer = group(tr("Optimizer"), layout, this);
    optimizer->addRow(tr("Learning rate"), m_lr);
    optimizer->addRow(tr("Schedule"), m_schedule);
    optimizer->addRow(tr("Warm-up steps"), m_warmup);
    optimizer->addRow(tr("Weight decay"), m_weightDecay);
    optimizer->addRow(tr("Max grad norm"), m_maxGradNorm);
    optimizer->addRow(tr("Seed"), m_seed);
    auto* cadence = group(tr("Every N steps"), layout, this);
    cadence->addRow(tr("Evaluate"), m_evalEvery);
    cadence->addRow(tr("Checkpoint"), m_saveEvery);
    cadence->addRow(tr("Statistics"), m_statsEvery);
    cadence->addRow(tr("Log"), m_logEvery);
    auto* data = group(tr("Sequences"), layout, this);
    data->addRow(tr("Max sequence length"), m_maxSeqLen);
    data->addRow(tr("Validation share"), m_valFraction);
    auto* machine = group(tr("Run"), layout, this);
    machine->addRow(tr("Device"), m_device);
    machine->addRow(tr("Precision"), m_precision);
    m_processes->setObjectName(QStringLiteral("processes"));
    m_processes->setRange(1, 64);
    m_processes->setToolTip(
        tr("Data-parallel training in this many processes on this machine: one per GPU, or processes that share "
           "the CPU cores. Each takes its share of every step's batch (the step's batch is batch size × "
           "accumulation × processes); the plots show rank 0, tokens/s count them all. Pause needs 1. "
           "docs/distributed.md"));
    machine->addRow(tr("Processes"), m_processes);
    machine->addRow(QString(), m_gradientCheckpointing);
    machine->addRow(tr("Run folder"), m_output);
    layout->addStretch(1);

    for (QSpinBox* s : {m_maxSteps, m_batch, m_gradAccum, m_warmup, m_evalEvery, m_saveEvery, m_statsEvery, m_logEvery})
        connect(s, &QSpinBox::valueChanged, this, &TrainingPanel::changed);
    for (NumberEdit* e : {m_epochs, m_lr, m_weightDecay, m_maxGradNorm, m_seed, m_valFraction})
        connect(e, &NumberEdit::valueChanged, this, &TrainingPanel::changed);
    for (QComboBox* c : {m_schedule, m_device, m_precision})
        connect(c, &QComboBox::currentTextChanged, this, &TrainingPanel::changed);
    connect(m_gradientCheckpointing, &QCheckBox::toggled, this, &TrainingPanel::changed);
    connect(m_processes, &QSpinBox::valueChanged, this, &TrainingPanel::changed);
    connect(m_output, &PathEdit::pathChanged, this, &TrainingPanel::changed);
    connect(m_maxSteps, &QSpinBox::valueChanged, this, &TrainingPanel::updateEnabled);
    connect(m_maxSeqLen, &QSpinBox::valueChanged, this, [this](int n) {
        emit maxSeqLenChanged(n);
        emit changed();
    });

    setConfig(droplora::config::RunConfig{});
}

qint64 TrainingPanel::maxSeqLen() const { return m_maxSeqLen->value(); }

int TrainingPanel::processes() const { return m_processes->value(); }

void TrainingPanel::setProcesses(int processes) { m_processes->setValue(processes); }

void TrainingPanel::setOutput(const QString& dir) { m_output->setPath(dir); }

void TrainingPanel::setConfig(const droplora::config::RunConfig& config) {
    const auto& t = config.train;
    m_maxSteps->setValue(static_cast<int>(t.max_steps));
    m_epochs->setValue(t.epochs);
    m_batch->setValue(static_cast<int>(t.batch_size));
    m_gradAccum->setValue(static_cast<int>(t.grad_accum));
    m_lr->setValue(t.lr);
    selectText(m_schedule, t.schedule);
    m_warmup->setValue(static_cast<int>(t.warmup_steps));
    m_weightDecay->setValue(t.weight_decay);
    m_maxGradNorm->setValue(t.max_grad_norm);
    m_seed->setIntValue(t.seed);
    m_evalEvery->setValue(static_cast<int>(t.eval_every));
    m_saveEvery->setValue(static_cast<int>(t.save_every));
    m_statsEvery->setValue(static_cast<int>(t.stats_every));
    m_logEvery->setValue(static_cast<int>(t.log_every));
    m_gradientCheckpointing->setChecked(t.gradient_checkpointing);
    m_maxSeqLen->setValue(static_cast<int>(config.data.max_seq_len));
    m_valFraction->setValue(config.data.val_fraction);
    selectText(m_device, config.device);
    selectText(m_precision, config.precision);
    m_output->setPath(QString::fromStdString(config.output));
    updateEnabled();
    emit maxSeqLenChanged(m_maxSeqLen->value());
}

void TrainingPanel::applyTo(droplora::config::RunConfig& config) const {
    auto& t = config.train;
    t.max_steps = m_maxSteps->value();
    t.epochs = m_epochs->value();
    t.batch_size = m_batch->value();
    t.grad_accum = m_gradAccum->value();
    t.lr = m_lr->value();
    t.schedule = m_schedule->currentText().toStdString();
    t.warmup_steps = m_warmup->value();
    t.weight_decay = m_weightDecay->value();
    t.max_grad_norm = m_maxGradNorm->value();
    t.seed = m_seed->intValue();
    t.eval_every = m_evalEvery->value();
    t.save_every = m_saveEvery->value();
    t.stats_every = m_statsEvery->value();
    t.log_every = m_logEvery->value();
    t.gradient_checkpointing = m_gradientCheckpointing->isChecked();
    config.data.max_seq_len = m_maxSeqLen->value();
    config.data.val_fraction = m_valFraction->value();
    config.device = m_device->currentText().toStdString();
    config.precision = m_precision->currentText().toStdString();
    config.output = m_output->path().toStdString();
}

void TrainingPanel::updateEnabled() { m_epochs->setEnabled(m_maxSteps->value() == 0); }

}  // namespace droplora::ui
