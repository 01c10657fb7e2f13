#include "runstatus.h"

#include <QHBoxLayout>
#include <QLabel>
#include <QProgressBar>
#include <algorithm>
#include <limits>

#include "formatting.h"

namespace droplora::ui {

namespace {

int clampInt(qint64 v) {
    return static_cast<int>(std::clamp<qint64>(v, 0, std::numeric_limits<int>::max()));
}

}  // namespace

RunStatus::RunStatus(QWidget* parent)
    : QWidget(parent),
      m_step(new QLabel(this)),
      m_progress(new QProgressBar(this)),
      m_eta(new QLabel(this)),
      m_rate(new QLabel(this)),
      m_memory(new QLabel(this)) {
    auto* layout = new QHBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(m_step);
    layout->addWidget(m_progress);
    layout->addWidget(m_eta);
    layout->addWidget(m_rate);
    layout->addWidget(m_memory);
    m_progress->setMinimumWidth(220);
    m_progress->setTextVisible(true);
    m_eta->setToolTip(tr("Estimated time left"));
    m_rate->setToolTip(tr("Tokens per second (all tokens of the step's batches)"));
    m_memory->setToolTip(tr("Peak device memory on CUDA, resident set on the CPU"));
    for (QLabel* l : {m_step, m_eta, m_rate, m_memory}) l->setMinimumWidth(l->fontMetrics().horizontalAdvance("0000000 tok/s"));
    reset();
}

void RunStatus::reset() {
    m_progress->setRange(0, 1);
    m_progress->setValue(0);
    m_progress->setFormat(QStringLiteral("%p%"));
    m_step->setText(tr("idle"));
    m_eta->setText(tr("ETA –"));
    m_rate->setText(formatRate(0));
    m_memory->setText(formatMemory(0));
}

void RunStatus::setStarted(qint64 maxSteps, qint64 startStep) {
    m_progress->setRange(0, clampInt(maxSteps));
    m_progress->setValue(clampInt(startStep));
    m_step->setText(tr("step %1 / %2").arg(startStep).arg(maxSteps));
}

void RunStatus::setStep(const droplora::train::StepMetrics& m) {
    if (m.max_steps > 0 && m_progress->maximum() != clampInt(m.max_steps)) m_progress->setRange(0, clampInt(m.max_steps));
    m_progress->setValue(clampInt(m.step));
    m_step->setText(tr("step %1 / %2").arg(m.step).arg(m.max_steps));
    m_eta->setText(tr("ETA %1").arg(formatDuration(m.eta_s)));
    m_rate->setText(formatRate(m.tokens_per_sec));
    m_memory->setText(formatMemory(m.device_memory_mb));
}

void RunStatus::setBusy(const QString& note) {
    m_savedMaximum = m_progress->maximum();
    m_savedValue = m_progress->value();
    m_progress->setRange(0, 0);
    m_step->setText(note);
}

void RunStatus::clearBusy() {
    m_progress->setRange(0, std::max(1, m_savedMaximum));
    m_progress->setValue(m_savedValue);
    m_step->setText(tr("idle"));
}

int RunStatus::progressValue() const { return m_progress->value(); }

QString RunStatus::etaText() const { return m_eta->text(); }

}  // namespace droplora::ui
