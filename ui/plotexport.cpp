#include "plotexport.h"

#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QMenu>
#include <qcustomplot.h>

#include "dialogs.h"
#include "workbenchsettings.h"

namespace droplora::ui {

bool savePlot(QCustomPlot* plot, const QString& path, QString* error) {
    const QString suffix = QFileInfo(path).suffix().toLower();
    bool ok = false;
    if (suffix == QLatin1String("png"))
        ok = plot->savePng(path, 0, 0, 2.0);  // twice the screen resolution: sharp in documents
    else if (suffix == QLatin1String("pdf"))
        ok = plot->savePdf(path);
    else {
        if (error) *error = QStringLiteral("%1: choose a .png or .pdf file name").arg(path);
        return false;
    }
    if (!ok && error) *error = QStringLiteral("%1: cannot be written").arg(path);
    return ok;
}

namespace {

void saveAs(QCustomPlot* plot, const QString& baseName, const QString& suffix, const QString& filter) {
    QString dir = WorkbenchSettings::lastFolder(QStringLiteral("plots"));
    if (dir.isEmpty()) dir = QDir::homePath();
    const QString path = QFileDialog::getSaveFileName(plot, QObject::tr("Save plot"),
                                                      QDir(dir).filePath(baseName + QLatin1Char('.') + suffix), filter);
    if (path.isEmpty()) return;
    WorkbenchSettings::setLastFolder(QStringLiteral("plots"), QFileInfo(path).absolutePath());
    QString error;
    if (!savePlot(plot, path, &error)) Dialogs::error(plot, QObject::tr("Save plot"), error);
}

}  // namespace

void savePlotInteractively(QCustomPlot* plot, const QString& baseName) {
    saveAs(plot, baseName, QStringLiteral("png"), QObject::tr("PNG image (*.png);;PDF document (*.pdf)"));
}

void installPlotExportMenu(QCustomPlot* plot, const QString& baseName, std::function<void()> resetView) {
    plot->setContextMenuPolicy(Qt::CustomContextMenu);
    QObject::connect(plot, &QWidget::customContextMenuRequested, plot, [plot, baseName, resetView](const QPoint& pos) {
        QMenu menu(plot);
        menu.addAction(QObject::tr("Save as PNG…"), plot, [plot, baseName] {
            saveAs(plot, baseName, QStringLiteral("png"), QObject::tr("PNG image (*.png)"));
        });
        menu.addAction(QObject::tr("Save as PDF…"), plot, [plot, baseName] {
            saveAs(plot, baseName, QStringLiteral("pdf"), QObject::tr("PDF document (*.pdf)"));
        });
        if (resetView) {
            menu.addSeparator();
            menu.addAction(QObject::tr("Reset view"), plot, [resetView] { resetView(); });
        }
        menu.exec(plot->mapToGlobal(pos));
    });
}

}  // namespace droplora::ui
