// One row per adapted module (layer.projection), one column per rank channel,
// coloured by the statistic chosen in the combo: how often the channel was
// kept, its energy s·‖B[:,i]‖·‖A[i,:]‖, or its gradient norm. Updated with
// every statistics sample; clicking a row selects that module.
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

    explicit ChannelHeatmap(QWidget* parent = nullptr);

    void clear();
    void setStatistic(Statistic statistic);
    Statistic statistic() const;

    int rowCount() const { return m_modules.size(); }
    int columnCount() const { return m_columns; }
    QStringList moduleNames() const { return m_modules; }
    QString selectedModule() const;
    // The shown value of a cell (NaN outside the sample).
    double cellValue(int row, int column) const;
    qint64 sampleStep() const { return m_sample.step; }
    QCustomPlot* plot() const { return m_plot; }
    // The hover text of a cell: layer, projection, channel and the value to 3 digits.
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
    void updateSelection();
    int rowAt(const QPoint& pos, int* column) const;

    QComboBox* m_statistic;
    QLabel* m_title;
    QLabel* m_caption;
    QCustomPlot* m_plot;
    QCPColorMap* m_map;
    QCPColorScale* m_scale;
    QCPItemRect* m_highlight;
    droplora::train::StatsSample m_sample;
    QStringList m_modules;
    int m_columns = 0;
    int m_selected = -1;
    double m_dropRate = 0;
};

}  // namespace droplora::ui
