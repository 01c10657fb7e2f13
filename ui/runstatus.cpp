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
      m_state(new QLabel(this)),
      m_step(new QLabel(this)),
      m_elapsed(new QLabel(this)),
      m_progress(new QProgressBar(this)),
      m_eta(new QLabel(this)),
      m_rate(new QLabel(this)),
      m_memory(new QLabel(this)) {
    auto* layout = new QHBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(m_state);
    layout->addWidget(m_step);
    layout->addWidget(m_progress);
    layout->addWidget(m_elapsed);
    layout->addWidget(m_eta);
    layout->addWidget(m_rate);
    layout->addWidget(m_memory);
    m_progress->setMinimumWidth(160);
    m_state->setToolTip(tr("The run's state"));
    m_elapsed->setToolTip(tr("Time spent training"));
    m_progress->setTextVisible(true);
    m_eta->setToolTip(tr("Estimated time left"));
    m_rate->setToolTip(tr("Tokens per second (all tokens of the step's batches)"));
    m_memory->setToolTip(tr("Peak device memory on CUDA, resident set on the CPU"));
    for (QLabel* l : {m_step, m_elapsed, m_eta, m_rate, m_memory}) l->setMinimumWidth(l->fontMetrics().horizontalAdvance("0000000 tok/s"));
    reset();
}

void RunStatus::reset() {
    m_progress->setRange(0, 1);
    m_progress->setValue(0);
    m_progress->setFormat(QStringLiteral("%p%"));
    setState(tr("idle"));
    m_step->setText(QString());
    clearLiveGauges();
    m_memory->setText(formatMemory(0));
}

void RunStatus::clearLiveGauges() {
    m_elapsed->setText(tr("elapsed –"));
    m_eta->setText(tr("ETA –"));
    m_rate->setText(tr("– tok/s"));
}

void RunStatus::setState(const QString& text, const QString& colour) {
    m_state->setText(colour.isEmpty() ? QStringLiteral("<b>%1</b>").arg(text.toHtmlEscaped())
                                      : QStringLiteral("<b style=\"color:%1\">%2</b>").arg(colour, text.toHtmlEscaped()));
    m_state->setProperty("plainState", text);
}

void RunStatus::showStep(qint64 step, qint64 maxSteps) {
    // A run by epochs (or a metrics row without its max) has no known end: no "/ 0".
    if (maxSteps > 0) {
        if (m_progress->maximum() != clampInt(maxSteps)) m_progress->setRange(0, clampInt(maxSteps));
        m_progress->setValue(clampInt(step));
        m_step->setText(tr("step %1 / %2").arg(step).arg(maxSteps));
    } else {
        m_progress->setRange(0, 1);
        m_progress->setValue(step > 0 ? 1 : 0);
        m_step->setText(tr("step %1").arg(step));
    }
}

QString RunStatus::training() const {
    return m_processes > 1 ? tr("training · %1 processes").arg(m_processes) : tr("training");
}

void RunStatus::setProcesses(int processes) { m_processes = std::max(1, processes); }

void RunStatus::setStarted(qint64 maxSteps, qint64 startStep) {
    setState(training());
    clearLiveGauges();
    showStep(startStep, maxSteps);
}

void RunStatus::setStep(const droplora::train::StepMetrics& m) {
    showStep(m.step, m.max_steps);
    m_elapsed->setText(tr("elapsed %1").arg(formatDuration(m.elapsed_s)));
    m_eta->setText(tr("ETA %1").arg(formatDuration(m.eta_s)));
    m_rate->setText(formatRate(m.tokens_per_sec));
    m_memory->setText(formatMemory(m.device_memory_mb));
}

void RunStatus::setPaused(bool paused) {
    setState(paused ? tr("paused") : training());
    if (paused) m_eta->setText(tr("ETA –"));
}

void RunStatus::setFinished(droplora::train::RunOutcome outcome, qint64 lastStep) {
    using droplora::train::RunOutcome;
    clearLiveGauges();
    switch (outcome) {
    case RunOutcome::Finished: setState(tr("finished"), QStringLiteral("#2e7d32")); break;
    case RunOutcome::Cancelled: setState(tr("stopped at step %1").arg(lastStep), QStringLiteral("#ef6c00")); break;
    case RunOutcome::Failed: setState(tr("failed"), QStringLiteral("#c62828")); break;
    }
}

void RunStatus::showOpenedRun(qint64 lastStep, qint64 maxSteps, const QString& state) {
    clearLiveGauges();
    showStep(lastStep, maxSteps);
    setState(state);
}

void RunStatus::setBusy(const QString& note) {
    m_savedMaximum = m_progress->maximum();
    m_savedValue = m_progress->value();
    m_savedState = m_state->text();
    m_progress->setRange(0, 0);
    m_state->setText(QStringLiteral("<b>%1</b>").arg(note.toHtmlEscaped()));
}

void RunStatus::clearBusy() {
    m_progress->setRange(0, std::max(1, m_savedMaximum));
    m_progress->setValue(m_savedValue);
    m_state->setText(m_savedState);
}

int RunStatus::progressValue() const { return m_progress->value(); }

QString RunStatus::etaText() const { return m_eta->text(); }
QString RunStatus::rateText() const { return m_rate->text(); }
QString RunStatus::elapsedText() const { return m_elapsed->text(); }
QString RunStatus::stepText() const { return m_step->text(); }
QString RunStatus::stateText() const { return m_state->property("plainState").toString(); }

}  // namespace droplora::ui
