#include "runsummary.h"

#include <QDir>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QPushButton>
#include <QTableWidget>
#include <QVBoxLayout>
#include <algorithm>

#include "formatting.h"

#include "train/run_folder.h"

namespace droplora::ui {

namespace {

enum Column { kModel, kLoss, kPerplexity, kExactMatch, kColumns };

QTableWidgetItem* cell(const QString& text, bool number) {
    auto* item = new QTableWidgetItem(text);
    item->setFlags(Qt::ItemIsSelectable | Qt::ItemIsEnabled);
    if (number) item->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
    return item;
}

QString adapterDir(const QString& runDir) {
    return QString::fromStdString(droplora::run_folder::adapter_dir(runDir.toStdString()));
}

}  // namespace

RunSummary::RunSummary(QWidget* parent)
    : QWidget(parent),
      m_job(new ScoreJob(this)),
      m_metrics(new QLabel),
      m_table(new QTableWidget(0, kColumns)),
      m_note(new QLabel),
      m_measure(new QPushButton(tr("Measure on the held-out file"))) {
    m_metrics->setWordWrap(true);
    m_metrics->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_note->setWordWrap(true);
    m_table->setHorizontalHeaderLabels({tr("Model"), tr("Loss"), tr("Perplexity"), tr("Exact match")});
    m_table->verticalHeader()->hide();
    m_table->horizontalHeader()->setSectionResizeMode(kModel, QHeaderView::Stretch);
    m_table->setMaximumHeight(90);
    auto* top = new QHBoxLayout;
    top->addWidget(m_metrics, 1);
    top->addWidget(m_measure, 0, Qt::AlignTop);
    auto* layout = new QVBoxLayout(this);
    layout->addLayout(top);
    layout->addWidget(m_table);
    layout->addWidget(m_note);
    layout->addStretch(1);
    connect(m_measure, &QPushButton::clicked, this, &RunSummary::measure);
    connect(m_job, &ScoreJob::succeeded, this, &RunSummary::onScores);
    connect(m_job, &ScoreJob::failed, this, &RunSummary::onScoreFailed);
    connect(m_job, &ScoreJob::progress, this, [this](int done, int total) {
        m_note->setText(tr("Measuring the base model and the adapted model on %1 … %2 of %3 scored")
                            .arg(m_job->request().dataPath)
                            .arg(done)
                            .arg(total));
    });
    clear();
}

void RunSummary::clear() {
    m_runDir.clear();
    m_config = {};
    m_metrics->setText(tr("No run yet: press Start, or open a run folder."));
    m_table->setRowCount(0);
    m_table->hide();
    m_note->clear();
    updateButton();
}

void RunSummary::showRun(const QString& runDir, const droplora::config::RunConfig& config,
                         const droplora::train::MetricsHistory& history) {
    m_runDir = runDir;
    m_config = config;
    QStringList lines{tr("Run %1").arg(QDir::toNativeSeparators(runDir))};
    if (!history.steps.empty()) {
        const auto& last = history.steps.back();
        // The last step's loss alone is noisy; the mean of the last ten is what the curve shows.
        const size_t n = std::min<size_t>(10, history.steps.size());
        double mean = 0;
        for (size_t i = history.steps.size() - n; i < history.steps.size(); ++i) mean += history.steps[i].loss;
        mean /= static_cast<double>(n);
        // A run by epochs has max_steps 0 in its config: the trainer's own count, else none.
        const qint64 maxSteps = last.max_steps > 0 ? last.max_steps : config.train.max_steps;
        const QString steps = maxSteps > 0 ? tr("%1 of %2 steps").arg(last.step).arg(maxSteps)
                                           : tr("%1 steps").arg(last.step);
        lines << tr("%1 in %2; training loss %3 (mean of the last %4 steps)")
                     .arg(steps)
                     .arg(formatDuration(last.elapsed_s))
                     .arg(mean, 0, 'f', 4)
                     .arg(n);
    }
    if (!history.evals.empty()) {
        const auto& e = history.evals.back();
        lines << tr("validation loss %1, perplexity %2 at step %3")
                     .arg(e.loss, 0, 'f', 4)
                     .arg(e.perplexity, 0, 'f', 2)
                     .arg(e.step);
    }
    m_metrics->setText(lines.join(QLatin1Char('\n')));
    m_table->setRowCount(0);
    m_table->hide();
    m_note->setText(config.data.val.empty() ? tr("The run has no validation file, so there is no held-out score.")
                                            : tr("Held-out file: %1").arg(QString::fromStdString(config.data.val)));
    updateButton();
}

bool RunSummary::measure() {
    QString why;
    if (m_job->isRunning())
        why = tr("a measurement is already going");
    else if (m_runDir.isEmpty())
        why = tr("no run to measure");
    else if (m_config.data.val.empty())
        why = tr("the run has no validation file");
    else if (!QFileInfo(adapterDir(m_runDir)).isDir())
        why = tr("%1 does not exist yet").arg(adapterDir(m_runDir));
    if (!why.isEmpty()) {
        m_note->setText(tr("Not measured: %1.").arg(why));
        return false;
    }
    ScoreJob::Request request;
    request.modelDir = QString::fromStdString(m_config.model);
    request.adapterDirs = {QString(), adapterDir(m_runDir)};
    request.dataPath = QString::fromStdString(m_config.data.val);
    request.format = QString::fromStdString(m_config.data.format);
    request.templ = QString::fromStdString(m_config.data.templ);
    request.maxSeqLen = m_config.data.max_seq_len;
    m_job->start(request);
    m_note->setText(tr("Measuring the base model and the adapted model on %1 …").arg(request.dataPath));
    updateButton();
    return true;
}

void RunSummary::onScores(const QVector<ScoreJob::Score>& scores) {
    if (m_job->request().adapterDirs.value(1) != adapterDir(m_runDir)) {
        // The tab moved on to another run while this one was being scored.
        updateButton();
        emit measured(false);
        return;
    }
    const QStringList names{tr("base model"),
                            tr("adapted: %1").arg(QDir::toNativeSeparators(m_job->request().adapterDirs.value(1)))};
    m_table->setRowCount(scores.size());
    for (int r = 0; r < scores.size(); ++r) {
        const auto& s = scores[r];
        m_table->setItem(r, kModel, cell(r < names.size() ? names[r] : QString(), false));
        m_table->setItem(r, kLoss, cell(QString::number(s.loss, 'f', 4), true));
        m_table->setItem(r, kPerplexity, cell(QString::number(s.perplexity, 'f', 2), true));
        m_table->setItem(
            r, kExactMatch,
            cell(QStringLiteral("%1 % (%2 of %3)").arg(100 * s.exactMatch, 0, 'f', 1).arg(s.matched).arg(s.examples),
                 true));
    }
    m_table->resizeColumnsToContents();
    m_table->show();
    if (scores.size() >= 2) {  // kept in the run folder for the runs table
        const QString error = ScoreJob::keepScores(m_runDir, m_job->request().dataPath, scores[1], &scores[0]);
        if (!error.isEmpty()) emit logLine(error);
    }
    m_note->setText(
        tr("Held-out file: %1 (greedy answers, exact match after trimming whitespace)").arg(m_job->request().dataPath));
    updateButton();
    emit logLine(scoresText());
    emit measured(true);
}

void RunSummary::onScoreFailed(const QString& message) {
    m_note->setText(tr("Not measured: %1").arg(message));
    updateButton();
    emit logLine(tr("held-out evaluation failed: %1").arg(message));
    emit measured(false);
}

void RunSummary::updateButton() {
    m_measure->setEnabled(!m_job->isRunning() && !m_runDir.isEmpty() && !m_config.data.val.empty());
}

QString RunSummary::metricsText() const {
    return m_metrics->text();
}

QString RunSummary::scoresText() const {
    if (m_table->rowCount() < 2) return {};
    auto text = [this](int row, int column) { return m_table->item(row, column)->text(); };
    return tr("held-out %1: exact match %2 → %3, loss %4 → %5 (base → adapted)")
        .arg(m_job->request().dataPath, text(0, kExactMatch), text(1, kExactMatch), text(0, kLoss), text(1, kLoss));
}

}  // namespace droplora::ui
