// One row per adapted module (layer.projection), one column per rank channel,
// coloured by the statistic chosen in the combo: how often the channel was
// kept, its energy s·‖B[:,i]‖·‖A[i,:]‖, or its gradient norm. Updated with
// every statistics sample; clicking a row selects that module. On real models
// (22 layers × 5 modules = 110 rows) the rows are grouped — by layer (the mean
// of its modules) or by module type (the mean over layers) — chosen in a
// second combo ("auto": every module up to 40, else by layer); the last row is
// the mean of every module. The wheel zooms and dragging scrolls the rows.
// Clicking a group selects its first module.
#pragma once

#include <QStringList>
#include <QWidget>

#include "metatypes.h"

class QComboBox;
class QCustomPlot;
class QCPColorMap;
class QCPColorScale;
class QCPItemRect;
class QLabel;

namespace droplora::ui {

class ChannelHeatmap : public QWidget {
    Q_OBJECT

public:
    enum class Statistic { KeepFraction, Energy, GradNorm };
    enum class Grouping { Auto, Modules, Layers, ModuleTypes };
    static constexpr int kMaxModuleRows = 40;  // Auto groups by layer beyond this

    explicit ChannelHeatmap(QWidget* parent = nullptr);

    void clear();
    void setStatistic(Statistic statistic);
    Statistic statistic() const;
    void setGrouping(Grouping grouping);
    Grouping grouping() const;
    // What Auto resolves to for the current sample.
    Grouping effectiveGrouping() const;

    int rowCount() const { return m_modules.size(); }
    int columnCount() const { return m_columns; }
    QStringList moduleNames() const { return m_modules; }
    QString selectedModule() const;
    // A module's value (row: index into moduleNames(); NaN outside the sample).
    double cellValue(int row, int column) const;
    // The rows drawn: modules or groups, then the mean of every module.
    int displayRowCount() const { return m_display.size(); }
    QString displayLabel(int row) const;
    double displayValue(int row, int column) const;  // the mean of the row's modules
    QStringList displayMembers(int row) const;         // the modules a drawn row averages
    qint64 sampleStep() const { return m_sample.step; }
    QCustomPlot* plot() const { return m_plot; }
    // The hover text of a drawn cell: layer, projection (or the group), channel and the value to 3 digits.
    QString cellToolTip(int row, int column) const;
    QString captionText() const;
    double dropRate() const { return m_dropRate; }
    static QString helpHtml();

public slots:
    void setSample(const droplora::train::StatsSample& sample);
    void selectModule(const QString& module);
    // DropLoRA's p (0 for LoRA): the keep frequency should sit near 1 − p.
    void setDropRate(double p);

signals:
    void moduleSelected(const QString& module);

private:
    const std::vector<double>& values(const droplora::train::ModuleStats& m) const;
    void rebuild();
    void regroup();
    void updateRowLabels();
    void resizeEvent(QResizeEvent* event) override;
    struct DisplayRow {
        QString label;
        QVector<int> members;  // module rows
        bool summary = false;
    };
    void updateSelection();
    int rowAt(const QPoint& pos, int* column) const;

    QComboBox* m_statistic;
    QComboBox* m_grouping;
    QLabel* m_title;
    QLabel* m_caption;
    QCustomPlot* m_plot;
    QCPColorMap* m_map;
    QCPColorScale* m_scale;
    QCPItemRect* m_highlight;
    droplora::train::StatsSample m_sample;
    QStringList m_modules;
    QVector<DisplayRow> m_display;
    int m_columns = 0;
    int m_selected = -1;
    int m_drawnRows = -1;  // rows of the last drawing: the y range is reset only when it changes
    double m_dropRate = 0;
};

}  // namespace droplora::ui
