#include "exportjob.h"

#include <QMetaObject>
#include <QThread>
#include <exception>

#include "common/error.h"

namespace droplora::ui {

struct ExportJob::Outcome {
    bool ok = false;
    QString error;
    droplora::exports::ExportReport report;
};

ExportJob::ExportJob(QObject* parent) : QObject(parent) {}

ExportJob::~ExportJob() {
    if (!m_thread) return;
    cancel();
    m_thread->wait();
    delete m_thread;
}

QString ExportJob::formatName(droplora::exports::ExportFormat format) {
    return format == droplora::exports::ExportFormat::Peft ? QStringLiteral("PEFT adapter") : QStringLiteral("merged model");
}

bool ExportJob::start(const QString& source, droplora::exports::ExportFormat format, const QString& outDir) {
    if (m_thread) return false;
    m_cancel = std::make_shared<std::atomic<bool>>(false);
    m_outcome = std::make_shared<Outcome>();
    m_report = {};
    auto cancelFlag = m_cancel;
    auto outcome = m_outcome;
    const std::string src = source.toStdString(), out = outDir.toStdString();
    // The destructor waits for the thread, so `this` outlives every posted progress line.
    m_thread = QThread::create([this, cancelFlag, outcome, src, out, format] {
        auto log = [&](const std::string& line) {
            if (cancelFlag->load()) droplora::fail(out, "export cancelled");
            const QString text = QString::fromStdString(line);
            QMetaObject::invokeMethod(
                this, [this, text] { emit progress(text); }, Qt::QueuedConnection);
        };
        try {
            outcome->report = droplora::exports::export_adapter(src, format, out, log);
            outcome->ok = true;
        } catch (const std::exception& e) {
            outcome->error = QString::fromUtf8(e.what());
        } catch (...) {
            outcome->error = QStringLiteral("export stopped by an unknown error");
        }
    });
    m_thread->setObjectName(QStringLiteral("droplora-export"));
    connect(m_thread, &QThread::finished, this, &ExportJob::onWorkerFinished, Qt::QueuedConnection);
    m_thread->start();
    return true;
}

void ExportJob::cancel() {
    if (m_cancel) m_cancel->store(true);
}

void ExportJob::onWorkerFinished() {
    if (!m_thread) return;
    m_thread->wait();
    delete m_thread;
    m_thread = nullptr;
    if (m_outcome->ok) {
        m_report = m_outcome->report;
        emit succeeded(QString::fromStdString(m_report.summary));
    } else {
        emit failed(m_outcome->error);
    }
}

}  // namespace droplora::ui
