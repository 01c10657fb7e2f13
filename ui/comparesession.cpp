#include "comparesession.h"

#include <QDir>
#include <QFileInfo>
#include <QTimer>
#include <cmath>
#include <exception>

#include "config/run_config.h"

#include "train/metrics_log.h"
#include "train/run_folder.h"
#include "trainingcontroller.h"

namespace droplora::ui {

using droplora::train::RunOutcome;

CompareSession::CompareSession(TrainingController* controller, QObject* parent)
    : QObject(parent), m_controller(controller), m_scoreJob(new ScoreJob(this)) {
    connect(m_controller, &TrainingController::finished, this, &CompareSession::onRunFinished);
    connect(m_scoreJob, &ScoreJob::succeeded, this, &CompareSession::onScores);
    connect(m_scoreJob, &ScoreJob::failed, this,
            [this](const QString& message) { finish(true, tr("exact match not measured: %1").arg(message)); });
}

CompareSession::~CompareSession() = default;

QVector<CompareSession::Row> CompareSession::plan(const droplora::config::RunConfig& form) {
    const QString output = QDir::cleanPath(QString::fromStdString(form.output));
    Row lora;
    lora.name = QStringLiteral("LoRA");
    lora.config = form;
    lora.config.adapter.method = "lora";
    lora.config.adapter.drop_rate = 0.0;
    lora.config.output = (output + QStringLiteral("-lora")).toStdString();
    Row drop;
    drop.name = QStringLiteral("DropLoRA");
    drop.config = form;
    if (form.adapter.method != "droplora") {
        drop.config.adapter.method = "droplora";
        drop.config.adapter.drop_rate = 0.5;
        drop.config.adapter.mask = "step";
    }
    drop.config.output = (output + QStringLiteral("-droplora")).toStdString();
    for (Row* row : {&lora, &drop})
        row->runDir = QDir::cleanPath(QDir::current().absoluteFilePath(QString::fromStdString(row->config.output)));
    return {lora, drop};
}

bool CompareSession::start(const droplora::config::RunConfig& form) {
    m_error.clear();
    if (m_active || m_controller->isRunning()) {
        m_error = tr("a run is going; stop it before comparing");
        return false;
    }
    QVector<Row> rows = plan(form);
    try {
        for (const Row& row : rows) droplora::config::validate(row.config, row.name.toStdString());
    } catch (const std::exception& e) {
        m_error = QString::fromUtf8(e.what());
        return false;
    }
    m_rows = rows;
    for (Row& row : m_rows) row.status = tr("waiting");
    m_active = true;
    m_cancelled = false;
    startRun(0);
    return true;
}

bool CompareSession::compareRuns(const QStringList& runDirs) {
    m_error.clear();
    if (m_active || m_controller->isRunning()) {
        m_error = tr("a run is going; stop it before comparing");
        return false;
    }
    if (runDirs.size() < 2) {
        m_error = tr("select two runs to compare");
        return false;
    }
    QVector<Row> rows;
    for (const QString& dir : runDirs) {
        Row row;
        row.runDir = QDir::cleanPath(QDir(dir).absolutePath());
        row.name = QFileInfo(row.runDir).fileName();
        const QString yaml = QString::fromStdString(droplora::run_folder::join(row.runDir.toStdString(), droplora::run_folder::kConfig));
        try {
            row.config = droplora::config::load_run_config(yaml.toStdString());
        } catch (const std::exception& e) {
            m_error = QString::fromUtf8(e.what());
            return false;
        }
        if (!droplora::run_folder::is_adapter_folder(droplora::run_folder::adapter_dir(row.runDir.toStdString()))) {
            m_error = tr("%1: has no final adapter (finish or resume the run first)").arg(row.runDir);
            return false;
        }
        row.trained = true;
        row.status = tr("trained");
        rows.append(row);
    }
    const auto& first = rows.first().config;
    for (const Row& row : rows) {
        const auto sameFile = [](const std::string& a, const std::string& b) {
            return QFileInfo(QString::fromStdString(a)).canonicalFilePath() ==
                   QFileInfo(QString::fromStdString(b)).canonicalFilePath();
        };
        if (!sameFile(row.config.model, first.model)) {
            m_error = tr("%1 and %2 were trained on different base models; their scores do not compare")
                          .arg(rows.first().runDir, row.runDir);
            return false;
        }
        if (row.config.data.val.empty() != first.data.val.empty() ||
            (!first.data.val.empty() && !sameFile(row.config.data.val, first.data.val))) {
            m_error = tr("%1 and %2 were validated on different files; their scores do not compare")
                          .arg(rows.first().runDir, row.runDir);
            return false;
        }
    }
    m_rows = rows;
    m_active = true;
    m_cancelled = false;
    m_current = -1;
    readMetrics();
    emit rowsChanged();
    if (first.data.val.empty()) {
        QTimer::singleShot(0, this, [this] { finish(true, tr("the runs have no validation file: exact match not measured")); });
        return true;
    }
    startExactMatch();
    return true;
}

void CompareSession::cancel() {
    if (!m_active) return;
    m_cancelled = true;
    if (m_controller->isRunning()) m_controller->stop();
}

void CompareSession::setStatus(int row, const QString& status) {
    if (row < 0 || row >= m_rows.size()) return;
    m_rows[row].status = status;
    emit rowsChanged();
}

void CompareSession::startRun(int index) {
    m_current = index;
    const Row& row = m_rows[index];
    setStatus(index, tr("training now"));
    emit runStarting(index, row.name, row.runDir);
    if (!m_controller->start(row.config)) finish(false, tr("%1: the training could not start").arg(row.runDir));
}

void CompareSession::onRunFinished(RunOutcome outcome, const QString& message) {
    if (!m_active || m_current < 0 || m_scoreJob->isRunning()) return;
    const Row& row = m_rows[m_current];
    if (outcome != RunOutcome::Finished) {
        const QString why = m_cancelled ? tr("cancelled") : message.isEmpty() ? outcomeName(outcome) : message;
        setStatus(m_current, m_cancelled ? tr("cancelled") : tr("failed"));
        finish(false, tr("%1 run %2: %3").arg(row.name, row.runDir, why));
        return;
    }
    m_rows[m_current].trained = true;
    setStatus(m_current, tr("trained"));
    emit progress(tr("compare: %1 run finished (%2)").arg(row.name, row.runDir));
    if (m_current + 1 < m_rows.size()) {
        // Start after every other receiver of finished() has seen the controller idle.
        const int next = m_current + 1;
        QTimer::singleShot(0, this, [this, next] {
            if (!m_active) return;
            if (m_cancelled)
                finish(false, tr("cancelled"));
            else
                startRun(next);
        });
        return;
    }
    readMetrics();
    if (m_rows.first().config.data.val.empty()) {
        finish(true, tr("no validation file in the form: exact match not measured"));
        return;
    }
    startExactMatch();
}

void CompareSession::readMetrics() {
    for (Row& row : m_rows) {
        if (row.isBase) continue;
        try {
            const auto history =
                droplora::train::read_metrics(droplora::run_folder::metrics_path(row.runDir.toStdString()));
            if (history.evals.empty()) continue;
            row.hasEval = true;
            row.valLoss = history.evals.back().loss;
            row.perplexity = history.evals.back().perplexity;
        } catch (const std::exception& e) {
            emit progress(tr("compare: %1").arg(QString::fromUtf8(e.what())));
        }
    }
}

void CompareSession::startExactMatch() {
    const auto c = m_rows.first().config;  // both runs share data, template and context (a copy: rows grow below)
    emit progress(tr("compare: measuring exact match on %1").arg(QString::fromStdString(c.data.val)));
    ScoreJob::Request request;
    request.modelDir = QString::fromStdString(c.model);
    // The base model alone is the last row: what the adapters add.
    Row base;
    base.name = tr("Base model (no adapter)");
    base.isBase = true;
    base.config = c;
    m_rows.append(base);
    for (Row& row : m_rows) {
        row.status = tr("scoring…");
        request.adapterDirs.append(row.isBase ? QString()
                                              : QString::fromStdString(droplora::run_folder::adapter_dir(row.runDir.toStdString())));
    }
    emit rowsChanged();
    request.dataPath = QString::fromStdString(c.data.val);
    request.format = QString::fromStdString(c.data.format);
    request.templ = QString::fromStdString(c.data.templ);
    request.maxSeqLen = c.data.max_seq_len;
    m_scoreJob->start(request);
}

void CompareSession::onScores(const QVector<ScoreJob::Score>& scores) {
    for (int i = 0; i < m_rows.size() && i < scores.size(); ++i) {
        Row& row = m_rows[i];
        row.hasExactMatch = true;
        row.exactMatch = scores[i].exactMatch;
        row.matched = scores[i].matched;
        row.examples = scores[i].examples;
        row.status = tr("scored");
        if (row.isBase) {  // no metrics.jsonl: the scoring's own loss of the reference answers
            row.hasEval = true;
            row.valLoss = scores[i].loss;
            row.perplexity = scores[i].perplexity;
        }
    }
    // Kept in each run folder for the runs table, with the base model's beside it (its score is the last).
    const bool withBase = !m_rows.isEmpty() && m_rows.last().isBase && scores.size() == m_rows.size();
    for (int i = 0; i < m_rows.size() && i < scores.size(); ++i) {
        if (m_rows[i].isBase) continue;
        const QString error = ScoreJob::keepScores(m_rows[i].runDir, QString::fromStdString(m_rows[i].config.data.val),
                                                   scores[i], withBase ? &scores.last() : nullptr);
        if (!error.isEmpty()) emit progress(tr("compare: %1").arg(error));
    }
    emit rowsChanged();
    finish(true, QString());
}

int CompareSession::bestRow(const QVector<Row>& rows) {
    int best = -1;
    for (int i = 0; i < rows.size(); ++i) {
        const Row& r = rows[i];
        if (r.isBase || !(r.hasExactMatch || r.hasEval)) continue;
        if (best < 0) {
            best = i;
            continue;
        }
        const Row& b = rows[best];
        if (r.hasExactMatch && b.hasExactMatch && r.matched != b.matched) {
            if (r.exactMatch > b.exactMatch) best = i;
        } else if (r.hasEval && b.hasEval && r.valLoss < b.valLoss) {
            best = i;
        }
    }
    return best;
}

QString CompareSession::noiseNote(const QVector<Row>& rows) {
    const Row* a = nullptr;
    const Row* b = nullptr;
    for (const Row& r : rows) {
        if (r.isBase || !r.hasExactMatch || r.examples <= 0) continue;
        (a ? b : a) = &r;
        if (b) break;
    }
    if (!a || !b) return {};
    // Two independent binomial shares on n rows each: SE(p1 − p2) = √(p1(1−p1)/n1 + p2(1−p2)/n2).
    const double p1 = a->exactMatch, p2 = b->exactMatch;
    double se = std::sqrt(p1 * (1 - p1) / double(a->examples) + p2 * (1 - p2) / double(b->examples));
    if (se == 0) se = 1.0 / double(std::max(a->examples, b->examples));  // both 0 % or 100 %: one row's worth
    const double diff = std::fabs(p1 - p2);
    const QString figures = tr("%1 %2 % vs %3 %4 % on %5 rows; two standard errors of the difference: %6 points.")
                                .arg(a->name)
                                .arg(100 * p1, 0, 'f', 1)
                                .arg(b->name)
                                .arg(100 * p2, 0, 'f', 1)
                                .arg(a->examples)
                                .arg(200 * se, 0, 'f', 1);
    if (diff < 2 * se)
        return figures + QLatin1Char(' ') +
               tr("The difference is within the noise of one seed on this many rows: train both with more seeds, or "
                  "score a larger validation file, before concluding which is better.");
    return figures + QLatin1Char(' ') +
           tr("The difference is larger than that sampling noise, but one seed can still mislead: repeat with "
              "another seed to be sure.");
}

void CompareSession::finish(bool ok, const QString& message) {
    m_active = false;
    m_current = -1;
    emit finished(ok, message);
}

}  // namespace droplora::ui
