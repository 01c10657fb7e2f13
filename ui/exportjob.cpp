#include "exportjob.h"

#include "backgroundjob.h"
#include "common/error.h"
#include "exportformats.h"

namespace droplora::ui {

ExportJob::ExportJob(QObject* parent)
    : QObject(parent), m_job(new BackgroundJob(QStringLiteral("droplora-export"), this)) {
    connect(m_job, &BackgroundJob::progress, this, [this](const QString& line) { emit progress(line); });
    connect(m_job, &BackgroundJob::succeeded, this,
            [this] { emit succeeded(QString::fromStdString(m_report.summary)); });
    connect(m_job, &BackgroundJob::failed, this, &ExportJob::failed);
    connect(m_job, &BackgroundJob::cancelled, this,
            [this] { emit failed(tr("%1: export cancelled").arg(m_outDir)); });
}

ExportJob::~ExportJob() = default;  // m_job, a child, cancels and joins

bool ExportJob::isRunning() const { return m_job->isRunning(); }

QString ExportJob::formatName(droplora::exports::ExportFormat format) {
    return exportFormatInfo(format).name;
}

bool ExportJob::start(const QString& source, droplora::exports::ExportFormat format, const QString& outDir,
                      const droplora::exports::ExportOptions& options) {
    if (m_job->isRunning()) return false;
    m_report = {};
    m_outDir = outDir;
    const std::string src = source.toStdString(), out = outDir.toStdString();
    return m_job->run<droplora::exports::ExportReport>(
        [src, out, format, options](BackgroundJob::Context& ctx) {
            return droplora::exports::export_adapter(
                src, format, out,
                [&](const std::string& line) {
                    if (ctx.isCancelled()) droplora::fail(out, "export cancelled");
                    ctx.progress(QString::fromStdString(line));
                },
                options);
        },
        [this](droplora::exports::ExportReport&& report) { m_report = std::move(report); });
}

void ExportJob::cancel() { m_job->cancel(); }

}  // namespace droplora::ui
